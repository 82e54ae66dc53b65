package achievement

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// AppName is the function app name of achievement (and its feature switch).
const AppName = "achievement"

// EventsTopic is the topic of GameEvent messages.
const EventsTopic = "game.events"

// PushRoute is the route of AchievementUnlockedPush notices.
const PushRoute = "achievement.unlocked"

// Defaults.
const (
	// DefaultSeenEvents is how many recent event ids a player's record keeps
	// for dedupe.
	DefaultSeenEvents = 512
	// DefaultMaxAttempts is the delivery attempts of the game.events
	// subscription: high, because a switched-off feature or a broken rule
	// keeps events queued rather than dropping them.
	DefaultMaxAttempts = 50
	// DefaultRetryDelay is the pause before an event is redelivered.
	DefaultRetryDelay = time.Second
)

// Config configures the achievement app; zero fields take the defaults.
type Config struct {
	// SeenEvents is how many recent event ids are kept per player
	// (DefaultSeenEvents). An event redelivered after that many newer events
	// of the same player would be applied again.
	SeenEvents int
	// MaxAttempts and RetryDelay shape the game.events subscription.
	MaxAttempts int
	RetryDelay  time.Duration
}

// Pusher sends a notice to an online player; directory.Pusher satisfies it.
type Pusher interface {
	Push(ctx context.Context, player gamemesh.PlayerID, route string, body []byte) error
}

// Deps are the ports the achievement app uses.
type Deps struct {
	// Store holds the achievement/ keys.
	Store gamemesh.Store
	// Invoker reaches mail.send.
	Invoker gamemesh.Invoker
	// Rules evaluates the Lua rules (scripts/achievement).
	Rules Rules
	// Pusher announces unlocks to online players; nil disables pushes.
	Pusher Pusher
	// Features, when set, makes the event handler refuse (and so keep queued)
	// events while the "achievement" feature is off. functions.Features.
	Features functions.Features
	// Logger is scoped with app=achievement; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// App serves the achievement methods and consumes game.events.
type App struct {
	cfg   Config
	store gamemesh.Store
	inv   gamemesh.Invoker
	rules Rules
	push  Pusher
	feat  functions.Features
	log   *slog.Logger
	now   func() time.Time
}

// New returns the achievement app.
func New(cfg Config, deps Deps) (*App, error) {
	if deps.Store == nil || deps.Invoker == nil || deps.Rules == nil {
		return nil, errors.New("achievement: Store, Invoker and Rules are required")
	}
	if cfg.SeenEvents < 0 || cfg.MaxAttempts < 0 || cfg.RetryDelay < 0 {
		return nil, fmt.Errorf("achievement: negative setting in %+v", cfg)
	}
	if cfg.SeenEvents == 0 {
		cfg.SeenEvents = DefaultSeenEvents
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.RetryDelay == 0 {
		cfg.RetryDelay = DefaultRetryDelay
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	return &App{cfg: cfg, store: deps.Store, inv: deps.Invoker, rules: deps.Rules, push: deps.Pusher,
		feat: deps.Features, log: log.With("app", AppName), now: now}, nil
}

// Request body limits, in bytes.
const (
	maxBodyEvent = 512
	maxBodyList  = 64
)

// Register adds the achievement methods and the game.events subscription to reg.
func (a *App) Register(reg *functions.Registry) {
	reg.Handle(AppName, "list", functions.Method{
		Handler: functions.Typed(func() *gamev1.ListAchievementsRequest { return new(gamev1.ListAchievementsRequest) }, a.list),
		Public:  true,
		MaxBody: maxBodyList,
	})
	reg.Handle(AppName, "record", functions.Method{
		Handler: functions.Typed(func() *gamev1.GameEvent { return new(gamev1.GameEvent) }, a.record),
		MaxBody: maxBodyEvent,
	})
	reg.Subscribe(AppName, gamemesh.Subscription{
		Topic:       EventsTopic,
		Group:       AppName,
		Handler:     a.HandleEvent,
		MaxAttempts: a.cfg.MaxAttempts,
		RetryDelay:  a.cfg.RetryDelay,
	})
}

// callContext gives a call the default deadline when ctx has none.
func callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, gamemesh.DefaultDeadline)
}
