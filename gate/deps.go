package gate

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/ticket"
)

// TicketVerifier checks login tickets; *ticket.Verifier implements it. Errors
// carry BAD_TICKET or TICKET_EXPIRED.
type TicketVerifier interface {
	Verify(token string, now time.Time) (ticket.Claims, error)
}

// SingleUse records single-use ids; directory.Once implements it. Use returns
// an error matching gamemesh.ErrConflict when id was already used, and any
// other error when it cannot say.
type SingleUse interface {
	Use(ctx context.Context, id string, until time.Time) error
}

// Directory records which gate and session hold each online player;
// *directory.Memory implements it.
type Directory interface {
	// Register records player at loc and returns its previous location (zero
	// if it was offline).
	Register(ctx context.Context, player gamemesh.PlayerID, loc directory.Location) (directory.Location, error)
	// Unregister removes player if it is still at session.
	Unregister(ctx context.Context, player gamemesh.PlayerID, session string) error
}

// Features says whether a system is switched on; *feature.Flags implements
// it. Enabled is called on every request: it must be cheap and safe for
// concurrent use.
type Features interface {
	Enabled(system string) bool
}

// Deps are the services a Gate uses. Publisher, Features, Metrics,
// MetricsHandler, Logger and Now are optional.
type Deps struct {
	// Invoker calls function apps for client requests and the guest login.
	Invoker gamemesh.Invoker
	// Tickets verifies login tickets.
	Tickets TicketVerifier
	// Used records ticket ids so each ticket logs in once.
	Used SingleUse
	// Directory is told who is online here.
	Directory Directory
	// Subscriber delivers this gate's push topic.
	Subscriber gamemesh.Subscriber
	// Publisher sends control messages to other gates' push topics: when a
	// player logs in here while its session on another gate is still
	// registered, that gate is asked to kick it with KICKED (nil: the older
	// session is left alone and the move is only logged).
	Publisher gamemesh.Publisher
	// Features refuses requests to switched-off systems with
	// FEATURE_DISABLED before any call leaves (nil: every system is on).
	Features Features
	// Scenes finds scene hosts for the realtime routes (system "scene",
	// see realtime.go): players enter the city at login and their scene
	// routes go straight to their host (nil: scene routes are invoked like
	// any other).
	Scenes SceneHosts
	// Metrics is where the gate registers its metrics (nil: none are kept).
	// One gate per registry, or wrap it with prometheus.WrapRegistererWith.
	Metrics prometheus.Registerer
	// MetricsHandler, when set, is served at GET /metrics on the HTTP
	// listener, e.g. promhttp.HandlerFor(registry, promhttp.HandlerOpts{}).
	MetricsHandler http.Handler
	// Logger receives the gate's logs (discarded when nil).
	Logger *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

func (d Deps) withDefaults() Deps {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return d
}

func (d Deps) validate() error {
	var errs []error
	if d.Invoker == nil {
		errs = append(errs, errors.New("gate: deps: Invoker is required"))
	}
	if d.Tickets == nil {
		errs = append(errs, errors.New("gate: deps: Tickets is required"))
	}
	if d.Used == nil {
		errs = append(errs, errors.New("gate: deps: Used is required"))
	}
	if d.Directory == nil {
		errs = append(errs, errors.New("gate: deps: Directory is required"))
	}
	if d.Subscriber == nil {
		errs = append(errs, errors.New("gate: deps: Subscriber is required"))
	}
	return errors.Join(errs...)
}
