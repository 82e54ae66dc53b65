package login

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/ticket"
)

// AppName is the function app name of login.
const AppName = "login"

// Config configures the login app.
type Config struct {
	// Secret is the HS256 key tickets are signed with, at least
	// ticket.MinSecretLen bytes. It comes from configuration or the secret
	// store, never from code.
	Secret []byte
	// TicketTTL is how long an issued ticket is valid; 0 means ticket.DefaultTTL.
	TicketTTL time.Duration
}

// Deps are the ports the login app uses.
type Deps struct {
	// Store holds the login/ keys.
	Store gamemesh.Store
	// Logger is scoped with app=login; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// App serves the login methods.
type App struct {
	store  gamemesh.Store
	log    *slog.Logger
	now    func() time.Time
	signer *ticket.Signer
}

// New returns the login app.
func New(cfg Config, deps Deps) (*App, error) {
	if deps.Store == nil {
		return nil, errors.New("login: Store is required")
	}
	if cfg.TicketTTL < 0 {
		return nil, fmt.Errorf("login: negative TicketTTL %v", cfg.TicketTTL)
	}
	signer, err := ticket.NewSigner(cfg.Secret, cfg.TicketTTL)
	if err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	return &App{store: deps.Store, log: log.With("app", AppName), now: now, signer: signer}, nil
}

// Request body limits per method, in bytes.
const (
	maxBodyGuest  = 512  // a 128-byte device id and framing
	maxBodyBan    = 1024 // a player id and a reason of up to maxReasonLen
	maxBodyPlayer = 256  // a player id
)

// Register adds the login methods to reg.
func (a *App) Register(reg *functions.Registry) {
	// guest is not Public: clients reach it before they have a session, through
	// the gate's HTTP endpoint (rate-limited there), which calls it as a
	// service. A logged-in player must not mint tickets over its connection.
	reg.Handle(AppName, "guest", functions.Method{
		Handler: functions.Typed(func() *gamev1.GuestLoginRequest { return new(gamev1.GuestLoginRequest) }, a.guest),
		MaxBody: maxBodyGuest,
	})
	reg.Handle(AppName, "ban", functions.Method{
		Handler: functions.Typed(func() *gamev1.BanRequest { return new(gamev1.BanRequest) }, a.ban),
		MaxBody: maxBodyBan,
	})
	reg.Handle(AppName, "unban", functions.Method{
		Handler: functions.Typed(func() *gamev1.UnbanRequest { return new(gamev1.UnbanRequest) }, a.unban),
		MaxBody: maxBodyPlayer,
	})
	reg.Handle(AppName, "mute", functions.Method{
		Handler: functions.Typed(func() *gamev1.MuteRequest { return new(gamev1.MuteRequest) }, a.mute),
		MaxBody: maxBodyBan,
	})
	reg.Handle(AppName, "unmute", functions.Method{
		Handler: functions.Typed(func() *gamev1.UnmuteRequest { return new(gamev1.UnmuteRequest) }, a.unmute),
		MaxBody: maxBodyPlayer,
	})
	reg.Handle(AppName, "status", functions.Method{
		Handler: functions.Typed(func() *gamev1.AccountStatusRequest { return new(gamev1.AccountStatusRequest) }, a.status),
		MaxBody: maxBodyPlayer,
	})
	reg.Handle(AppName, "exists", functions.Method{
		Handler: functions.Typed(func() *gamev1.PlayerExistsRequest { return new(gamev1.PlayerExistsRequest) }, a.exists),
		MaxBody: maxBodyPlayer,
	})
}
