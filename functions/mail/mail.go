package mail

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

// AppName is the function app name of mail.
const AppName = "mail"

// GrantsTopic is the topic on which claims announce pending grants.
const GrantsTopic = "player.grants"

// Defaults and fixed limits.
const (
	DefaultMailboxCap     = 100
	DefaultExpiry         = 30 * 24 * time.Hour
	DefaultMaxAttachments = 10
	DefaultMaxCount       = 1_000_000
	// MaxSubjectLen and MaxBodyLen are in bytes of UTF-8.
	MaxSubjectLen = 64
	MaxBodyLen    = 1024
	// RequestIDWindow is how long a (sender, request_id) pair is remembered in
	// the recipient's box (the mail id, derived from it, dedupes for as long
	// as the mail itself exists).
	RequestIDWindow = 24 * time.Hour
)

// Config configures the mail app; zero fields take the defaults.
type Config struct {
	// MailboxCap is the most mails one box holds (DefaultMailboxCap).
	MailboxCap int
	// DefaultExpiry is how long a mail lives after it is sent (DefaultExpiry).
	DefaultExpiry time.Duration
	// MaxAttachments is the most items one mail carries (DefaultMaxAttachments).
	MaxAttachments int
	// MaxCount is the largest count of one attached item (DefaultMaxCount).
	MaxCount int64
}

// Pusher sends a notice to an online player; directory.Pusher satisfies it.
type Pusher interface {
	Push(ctx context.Context, player gamemesh.PlayerID, route string, body []byte) error
}

// Deps are the ports the mail app uses.
type Deps struct {
	// Store holds the mail/ keys.
	Store gamemesh.Store
	// Invoker reaches login.exists.
	Invoker gamemesh.Invoker
	// Pusher announces new mail to online recipients; nil disables pushes.
	Pusher Pusher
	// Publisher carries GrantsPendingEvent on GrantsTopic.
	Publisher gamemesh.Publisher
	// Logger is scoped with app=mail; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// App serves the mail methods.
type App struct {
	cfg   Config
	store gamemesh.Store
	inv   gamemesh.Invoker
	push  Pusher
	pub   gamemesh.Publisher
	log   *slog.Logger
	now   func() time.Time
}

// New returns the mail app.
func New(cfg Config, deps Deps) (*App, error) {
	if deps.Store == nil || deps.Invoker == nil || deps.Publisher == nil {
		return nil, errors.New("mail: Store, Invoker and Publisher are required")
	}
	if cfg.MailboxCap < 0 || cfg.DefaultExpiry < 0 || cfg.MaxAttachments < 0 || cfg.MaxCount < 0 {
		return nil, fmt.Errorf("mail: negative limit in %+v", cfg)
	}
	if cfg.MailboxCap == 0 {
		cfg.MailboxCap = DefaultMailboxCap
	}
	if cfg.DefaultExpiry == 0 {
		cfg.DefaultExpiry = DefaultExpiry
	}
	if cfg.MaxAttachments == 0 {
		cfg.MaxAttachments = DefaultMaxAttachments
	}
	if cfg.MaxCount == 0 {
		cfg.MaxCount = DefaultMaxCount
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	return &App{cfg: cfg, store: deps.Store, inv: deps.Invoker, push: deps.Pusher, pub: deps.Publisher,
		log: log.With("app", AppName), now: now}, nil
}

// Request body limits, in bytes.
const (
	maxBodySmall = 256      // one id, a page token
	maxBodyAck   = 64 << 10 // up to ~1000 grant ids
)

// sendMaxBody is the body limit of send: the largest valid request plus framing.
func (a *App) sendMaxBody() int {
	const perItem = 64 + 16 // id + count + tags
	return 512 + MaxSubjectLen + MaxBodyLen + a.cfg.MaxAttachments*perItem
}

// Register adds the mail methods to reg.
func (a *App) Register(reg *functions.Registry) {
	reg.Handle(AppName, "send", functions.Method{
		Handler: functions.Typed(func() *gamev1.SendMailRequest { return new(gamev1.SendMailRequest) }, a.send),
		Public:  true,
		MaxBody: a.sendMaxBody(),
	})
	reg.Handle(AppName, "list", functions.Method{
		Handler: functions.Typed(func() *gamev1.ListMailRequest { return new(gamev1.ListMailRequest) }, a.list),
		Public:  true,
		MaxBody: maxBodySmall,
	})
	reg.Handle(AppName, "read", functions.Method{
		Handler: functions.Typed(func() *gamev1.ReadMailRequest { return new(gamev1.ReadMailRequest) }, a.read),
		Public:  true,
		MaxBody: maxBodySmall,
	})
	reg.Handle(AppName, "claim", functions.Method{
		Handler: functions.Typed(func() *gamev1.ClaimMailRequest { return new(gamev1.ClaimMailRequest) }, a.claim),
		Public:  true,
		MaxBody: maxBodySmall,
	})
	reg.Handle(AppName, "pendingGrants", functions.Method{
		Handler: functions.Typed(func() *gamev1.PendingGrantsRequest { return new(gamev1.PendingGrantsRequest) }, a.pendingGrants),
		MaxBody: maxBodySmall,
	})
	reg.Handle(AppName, "ackGrants", functions.Method{
		Handler: functions.Typed(func() *gamev1.AckGrantsRequest { return new(gamev1.AckGrantsRequest) }, a.ackGrants),
		MaxBody: maxBodyAck,
	})
}
