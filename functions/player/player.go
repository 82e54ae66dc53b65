package player

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

// AppName is the function app name of player.
const AppName = "player"

// GrantsTopic is the topic announcing pending grants (published by mail).
const GrantsTopic = "player.grants"

// Defaults of Config.
const (
	DefaultAppliedGrantsCap = 1000
	DefaultMaxStack         = 1_000_000_000_000
)

// Config configures the player app; zero fields take the defaults.
type Config struct {
	// AppliedGrantsCap is how many applied grant ids a record remembers.
	AppliedGrantsCap int
	// MaxStack is the largest count of one item kind in an inventory.
	MaxStack int64
	// WelcomeGift, when not empty, is mailed (from "system", with these
	// attachments) once to every new player, on its first player.get.
	WelcomeGift []*gamev1.Item
}

// Deps are the ports the player app uses.
type Deps struct {
	// Store holds the player/ keys.
	Store gamemesh.Store
	// Invoker reaches mail.pendingGrants and mail.ackGrants.
	Invoker gamemesh.Invoker
	// Publisher forwards grant notices of held players to their scene
	// host's topic (HostGrantsTopic); nil: the host finds them at its next load.
	Publisher gamemesh.Publisher
	// Logger is scoped with app=player; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// App serves the player methods.
type App struct {
	cfg   Config
	store gamemesh.Store
	inv   gamemesh.Invoker
	pub   gamemesh.Publisher
	log   *slog.Logger
	now   func() time.Time
}

// New returns the player app.
func New(cfg Config, deps Deps) (*App, error) {
	if deps.Store == nil || deps.Invoker == nil {
		return nil, errors.New("player: Store and Invoker are required")
	}
	if cfg.AppliedGrantsCap < 0 || cfg.MaxStack < 0 {
		return nil, fmt.Errorf("player: negative limit in %+v", cfg)
	}
	if cfg.AppliedGrantsCap == 0 {
		cfg.AppliedGrantsCap = DefaultAppliedGrantsCap
	}
	if cfg.MaxStack == 0 {
		cfg.MaxStack = DefaultMaxStack
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	return &App{cfg: cfg, store: deps.Store, inv: deps.Invoker, pub: deps.Publisher, log: log.With("app", AppName), now: now}, nil
}

// maxBody is the request body limit of both methods (an empty message or one id).
const maxBody = 256

// Register adds the player methods and the grants subscription to reg.
func (a *App) Register(reg *functions.Registry) {
	reg.Handle(AppName, "get", functions.Method{
		Handler: functions.Typed(func() *gamev1.GetPlayerRequest { return new(gamev1.GetPlayerRequest) }, a.get),
		Public:  true,
		MaxBody: maxBody,
	})
	reg.Handle(AppName, "applyGrants", functions.Method{
		Handler: functions.Typed(func() *gamev1.ApplyGrantsRequest { return new(gamev1.ApplyGrantsRequest) }, a.applyGrants),
		MaxBody: maxBody,
	})
	reg.Handle(AppName, "checkout", functions.Method{
		Handler: functions.Typed(func() *gamev1.CheckoutPlayerRequest { return new(gamev1.CheckoutPlayerRequest) }, a.checkout),
		MaxBody: maxBody + 128,
	})
	reg.Handle(AppName, "save", functions.Method{
		Handler: functions.Typed(func() *gamev1.SavePlayerRequest { return new(gamev1.SavePlayerRequest) },
			func(ctx context.Context, _ gamemesh.Request, in *gamev1.SavePlayerRequest) (*gamev1.SavePlayerResponse, error) {
				return a.save(ctx, in, false)
			}),
		MaxBody: maxStateBody,
	})
	reg.Handle(AppName, "checkin", functions.Method{
		Handler: functions.Typed(func() *gamev1.SavePlayerRequest { return new(gamev1.SavePlayerRequest) },
			func(ctx context.Context, _ gamemesh.Request, in *gamev1.SavePlayerRequest) (*gamev1.SavePlayerResponse, error) {
				return a.save(ctx, in, true)
			}),
		MaxBody: maxStateBody,
	})
	reg.Subscribe(AppName, gamemesh.Subscription{Topic: GrantsTopic, Handler: a.onGrantsPending})
	a.registerProfile(reg)
}
