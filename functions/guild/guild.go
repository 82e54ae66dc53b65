package guild

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// AppName is the function app name of guild.
const AppName = "guild"

// Defaults of Config.
const (
	DefaultMemberCap       = 50
	DefaultMaxApplications = 100
	DefaultMaxInvites      = 100
	DefaultReserveTTL      = 30 * time.Second
	DefaultPendingGrace    = 10 * time.Second
	DefaultApplicationTTL  = 7 * 24 * time.Hour
	DefaultTombstoneTTL    = 7 * 24 * time.Hour
)

// Fixed limits.
const (
	// MinNameLen and MaxNameLen bound a guild name, in characters (runes).
	MinNameLen = 2
	MaxNameLen = 16
	// MaxNoticeLen bounds the notice, in bytes of UTF-8.
	MaxNoticeLen = 256
	// MaxPageSize is the largest member page; DefaultPageSize is used for 0.
	MaxPageSize     = 100
	DefaultPageSize = 20
)

// Config configures the guild app; zero fields take the defaults.
type Config struct {
	// MemberCap is the most members a guild created from now on holds,
	// leader included (DefaultMemberCap). The cap is stored in each guild at
	// creation.
	MemberCap int
	// MaxApplications is the most pending applications per guild.
	MaxApplications int
	// MaxInvites is the most pending invitations per guild.
	MaxInvites int
	// ReserveTTL is how long a reserved join slot counts against the cap
	// when its join does not complete (a crashed or abandoned join).
	ReserveTTL time.Duration
	// PendingGrace is how long a membership claim made by a guild creation
	// whose guild record does not exist yet is treated as in progress; after
	// it, the creation is aborted and the claim released.
	PendingGrace time.Duration
	// ApplicationTTL is how long applications and invitations stay valid.
	ApplicationTTL time.Duration
	// TombstoneTTL is how long the record of a disbanded (or aborted) guild
	// is kept, so that late retries and late writers find it.
	TombstoneTTL time.Duration
}

// Pusher sends a notice to an online player; directory.Pusher satisfies it.
type Pusher interface {
	Push(ctx context.Context, player gamemesh.PlayerID, route string, body []byte) error
}

// Deps are the ports the guild app uses.
type Deps struct {
	// Store holds the guild/ keys.
	Store gamemesh.Store
	// Invoker reaches login.exists to refuse invitations of unknown players;
	// nil skips that check.
	Invoker gamemesh.Invoker
	// Pusher sends GuildPush notices on route "guild.event"; nil disables them.
	Pusher Pusher
	// Logger is scoped with app=guild; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// App serves the guild methods.
type App struct {
	cfg   Config
	store gamemesh.Store
	inv   gamemesh.Invoker
	push  Pusher
	log   *slog.Logger
	now   func() time.Time
}

// New returns the guild app.
func New(cfg Config, deps Deps) (*App, error) {
	if deps.Store == nil {
		return nil, errors.New("guild: Store is required")
	}
	if cfg.MemberCap < 0 || cfg.MaxApplications < 0 || cfg.MaxInvites < 0 || cfg.ReserveTTL < 0 ||
		cfg.PendingGrace < 0 || cfg.ApplicationTTL < 0 || cfg.TombstoneTTL < 0 {
		return nil, fmt.Errorf("guild: negative limit in %+v", cfg)
	}
	if cfg.MemberCap == 1 {
		return nil, errors.New("guild: MemberCap must be at least 2")
	}
	setDefault(&cfg.MemberCap, DefaultMemberCap)
	setDefault(&cfg.MaxApplications, DefaultMaxApplications)
	setDefault(&cfg.MaxInvites, DefaultMaxInvites)
	setDefault(&cfg.ReserveTTL, DefaultReserveTTL)
	setDefault(&cfg.PendingGrace, DefaultPendingGrace)
	setDefault(&cfg.ApplicationTTL, DefaultApplicationTTL)
	setDefault(&cfg.TombstoneTTL, DefaultTombstoneTTL)
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	return &App{cfg: cfg, store: deps.Store, inv: deps.Invoker, push: deps.Pusher, log: log.With("app", AppName), now: now}, nil
}

func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// maxBodySmall is the body limit of every method: ids, a name, a notice.
const maxBodySmall = 1024

// Register adds the guild methods to reg.
func (a *App) Register(reg *functions.Registry) {
	public := func(name string, h functions.Handler) {
		reg.Handle(AppName, name, functions.Method{Handler: h, Public: true, MaxBody: maxBodySmall})
	}
	newReq := func() *gamev1.GuildRequest { return new(gamev1.GuildRequest) }
	newTarget := func() *gamev1.GuildTargetRequest { return new(gamev1.GuildTargetRequest) }

	public("create", functions.Typed(func() *gamev1.CreateGuildRequest { return new(gamev1.CreateGuildRequest) }, a.create))
	public("apply", functions.Typed(newReq, a.apply))
	public("accept", functions.Typed(newReq, a.accept))
	public("leave", functions.Typed(newReq, a.leave))
	public("disband", functions.Typed(newReq, a.disband))
	public("info", functions.Typed(newReq, a.info))
	public("applications", functions.Typed(newReq, a.applications))
	public("approve", functions.Typed(newTarget, a.approve))
	public("reject", functions.Typed(newTarget, a.reject))
	public("invite", functions.Typed(newTarget, a.invite))
	public("kick", functions.Typed(newTarget, a.kick))
	public("promote", functions.Typed(newTarget, a.promote))
	public("demote", functions.Typed(newTarget, a.demote))
	public("transfer", functions.Typed(newTarget, a.transfer))
	public("notice", functions.Typed(func() *gamev1.GuildNoticeRequest { return new(gamev1.GuildNoticeRequest) }, a.setNotice))
	public("setOpen", functions.Typed(func() *gamev1.GuildOpenRequest { return new(gamev1.GuildOpenRequest) }, a.setOpen))
	public("members", functions.Typed(func() *gamev1.ListGuildMembersRequest { return new(gamev1.ListGuildMembersRequest) }, a.members))
	reg.Handle(AppName, "settle", functions.Method{
		Handler: functions.Typed(func() *gamev1.SettleGuildRequest { return new(gamev1.SettleGuildRequest) }, a.settleMethod),
		MaxBody: maxBodySmall,
	})
}

// guildID checks a guild id taken from a request.
func guildID(id string) (string, error) {
	if id == "" {
		return "", gamemesh.Errorf(gamemesh.CodeInvalidArgument, "guild_id required")
	}
	if !gamemesh.ValidKeyPart(id) {
		return "", errNoGuild
	}
	return id, nil
}

// target checks the player id a request acts upon.
func target(id string) (gamemesh.PlayerID, error) {
	if id == "" {
		return "", gamemesh.Errorf(gamemesh.CodeInvalidArgument, "player_id required")
	}
	p := gamemesh.PlayerID(id)
	if !p.Valid() {
		return "", gamemesh.Errorf(gamemesh.CodeNotFound, "no such player")
	}
	return p, nil
}
