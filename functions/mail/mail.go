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
	"github.com/gamemesh/gamemesh/gamedata"
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

	// Per-sender quotas of player-to-player mail (system mail has none).
	DefaultSendsPerMinute         = 60
	DefaultSendsPerDay            = 1000
	DefaultSendsPerRecipientDaily = 20

	// DefaultMaxLiveBroadcasts bounds the server-wide mails live at once.
	DefaultMaxLiveBroadcasts = 100
	// DefaultMaxExpiry is the longest life of a server-wide mail.
	DefaultMaxExpiry = 90 * 24 * time.Hour
	// DefaultIndexCacheTTL is how long a process trusts its copy of the
	// broadcast index (its own broadcasts show at once).
	DefaultIndexCacheTTL = time.Second
	// DefaultAudienceRecheck is how long a player outside a broadcast's level
	// range waits before its level is checked again.
	DefaultAudienceRecheck = 10 * time.Minute
	// DefaultExpiryShards is how many keys each day's expiry bucket spreads over.
	DefaultExpiryShards = 256
	// DefaultMaxPendingGrants bounds the grants waiting in one box for the
	// inventory owner.
	DefaultMaxPendingGrants = 1000
)

// Config configures the mail app; zero fields take the defaults.
type Config struct {
	// MailboxCap is the most mails one box holds (DefaultMailboxCap).
	MailboxCap int
	// DefaultExpiry is how long a mail lives after it is sent (DefaultExpiry).
	DefaultExpiry time.Duration
	// MaxAttachments is the most items one mail carries (DefaultMaxAttachments).
	MaxAttachments int
	// MaxCount is the largest count of one attached item (DefaultMaxCount);
	// the item catalogue's stack cap applies too.
	MaxCount int64

	// SendsPerMinute, SendsPerDay and SendsPerRecipientDaily are the quotas
	// of one player sender (UTC minutes and days): beyond the first, sends
	// are RATE_LIMITED; beyond the others, LIMIT_REACHED.
	SendsPerMinute         int
	SendsPerDay            int
	SendsPerRecipientDaily int

	// MaxLiveBroadcasts bounds the server-wide mails live at once
	// (DefaultMaxLiveBroadcasts); MaxExpiry bounds their life (DefaultMaxExpiry).
	MaxLiveBroadcasts int
	MaxExpiry         time.Duration
	// IndexCacheTTL (DefaultIndexCacheTTL) and AudienceRecheck
	// (DefaultAudienceRecheck) shape broadcast delivery.
	IndexCacheTTL   time.Duration
	AudienceRecheck time.Duration
	// ExpiryShards spreads each day's expiry bucket (DefaultExpiryShards).
	ExpiryShards int
	// MaxPendingGrants bounds a box's grants not yet applied (DefaultMaxPendingGrants).
	MaxPendingGrants int
}

// withDefaults refuses negative limits and fills the zero ones.
func (cfg Config) withDefaults() (Config, error) {
	for _, v := range []int64{int64(cfg.MailboxCap), int64(cfg.DefaultExpiry), int64(cfg.MaxAttachments), cfg.MaxCount,
		int64(cfg.SendsPerMinute), int64(cfg.SendsPerDay), int64(cfg.SendsPerRecipientDaily), int64(cfg.MaxLiveBroadcasts),
		int64(cfg.MaxExpiry), int64(cfg.IndexCacheTTL), int64(cfg.AudienceRecheck), int64(cfg.ExpiryShards), int64(cfg.MaxPendingGrants)} {
		if v < 0 {
			return cfg, fmt.Errorf("mail: negative limit in %+v", cfg)
		}
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&cfg.MailboxCap, DefaultMailboxCap)
	defD(&cfg.DefaultExpiry, DefaultExpiry)
	def(&cfg.MaxAttachments, DefaultMaxAttachments)
	if cfg.MaxCount == 0 {
		cfg.MaxCount = DefaultMaxCount
	}
	def(&cfg.SendsPerMinute, DefaultSendsPerMinute)
	def(&cfg.SendsPerDay, DefaultSendsPerDay)
	def(&cfg.SendsPerRecipientDaily, DefaultSendsPerRecipientDaily)
	def(&cfg.MaxLiveBroadcasts, DefaultMaxLiveBroadcasts)
	defD(&cfg.MaxExpiry, DefaultMaxExpiry)
	defD(&cfg.IndexCacheTTL, DefaultIndexCacheTTL)
	defD(&cfg.AudienceRecheck, DefaultAudienceRecheck)
	def(&cfg.ExpiryShards, DefaultExpiryShards)
	def(&cfg.MaxPendingGrants, DefaultMaxPendingGrants)
	if cfg.DefaultExpiry > cfg.MaxExpiry {
		return cfg, fmt.Errorf("mail: DefaultExpiry %v exceeds MaxExpiry %v", cfg.DefaultExpiry, cfg.MaxExpiry)
	}
	return cfg, nil
}

// Pusher sends a notice to an online player; directory.Pusher satisfies it.
type Pusher interface {
	Push(ctx context.Context, player gamemesh.PlayerID, route string, body []byte) error
}

// Deps are the ports the mail app uses.
type Deps struct {
	// Store holds the mail/ keys.
	Store gamemesh.Store
	// Invoker reaches login.exists and player.profile.
	Invoker gamemesh.Invoker
	// Pusher announces new mail to online recipients; nil disables pushes.
	Pusher Pusher
	// Publisher carries GrantsPendingEvent on GrantsTopic.
	Publisher gamemesh.Publisher
	// Logger is scoped with app=mail; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Templates renders template mails (the Lua module scripts/mail); nil
	// delivers them with a fallback text, as while Lua is unavailable.
	Templates Templates
	// Items is the item catalogue attachments and grants are checked
	// against; nil means gamedata.Items().
	Items *gamedata.Catalog
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
	tpl   Templates
	items *gamedata.Catalog

	index   indexCache    // the broadcast index, briefly cached
	records recordCache   // broadcast records (immutable), by id
	listed  registrations // expiry buckets this process registered boxes in
}

// New returns the mail app.
func New(cfg Config, deps Deps) (*App, error) {
	if deps.Store == nil || deps.Invoker == nil || deps.Publisher == nil {
		return nil, errors.New("mail: Store, Invoker and Publisher are required")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	items := deps.Items
	if items == nil {
		items = gamedata.Items()
	}
	return &App{cfg: cfg, store: deps.Store, inv: deps.Invoker, push: deps.Pusher, pub: deps.Publisher,
		log: log.With("app", AppName), now: now, tpl: deps.Templates, items: items}, nil
}

// Request body limits, in bytes.
const (
	maxBodySmall = 256      // one id, a page token
	maxBodyAck   = 64 << 10 // up to ~1000 grant ids
)

// sendMaxBody is the body limit of send and broadcast: the largest valid
// request plus framing.
func (a *App) sendMaxBody() int {
	const perItem = 64 + 16 // id + count + tags
	const perParam = maxParamKeyLen + maxParamValueLen + 8
	return 512 + MaxSubjectLen + MaxBodyLen + a.cfg.MaxAttachments*perItem + maxTemplateLen + maxParams*perParam
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
	reg.Handle(AppName, "claimAll", functions.Method{
		Handler: functions.Typed(func() *gamev1.ClaimAllMailRequest { return new(gamev1.ClaimAllMailRequest) }, a.claimAll),
		Public:  true,
		MaxBody: maxBodySmall,
	})
	reg.Handle(AppName, "broadcast", functions.Method{
		Handler: functions.Typed(func() *gamev1.BroadcastMailRequest { return new(gamev1.BroadcastMailRequest) }, a.broadcast),
		MaxBody: a.sendMaxBody() + 256,
	})
	reg.Handle(AppName, "grant", functions.Method{
		Handler: functions.Typed(func() *gamev1.GrantItemsRequest { return new(gamev1.GrantItemsRequest) }, a.grant),
		MaxBody: 512 + a.cfg.MaxAttachments*(64+16),
	})
}
