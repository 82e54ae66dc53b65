package idip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/gamedata"
)

// AppName is the name of the IDIP app: its Dapr app id, the prefix of its
// keys, its feature switch and its roster kind.
const AppName = "idip"

// Defaults of Config.
const (
	DefaultIdentity      = "admin"
	DefaultSerialTTL     = 30 * 24 * time.Hour
	DefaultLease         = 30 * time.Second
	DefaultWaitPending   = 10 * time.Second
	DefaultMaxBody       = 64 << 10
	DefaultMaxScriptBody = 10 << 20
	DefaultCallTimeout   = 5 * time.Second
)

// Config configures the IDIP app. Zero fields take the defaults.
type Config struct {
	// Addr is where Start listens (e.g. "127.0.0.1:7102"); required.
	Addr string
	// Token is the admin token every request must carry ("Authorization:
	// Bearer <token>"): at least MinTokenLen characters, never a default.
	Token string
	// Identity names the token's holder in the audit log when a request
	// names no operator (DefaultIdentity).
	Identity string
	// Node names this IDIP process in audit entries (e.g. its roster id).
	Node string
	// SerialTTL is how long the answer of a serial is kept (DefaultSerialTTL).
	SerialTTL time.Duration
	// Lease is how long a serial being executed blocks its duplicates before
	// another request may take it over (its executor presumably crashed).
	Lease time.Duration
	// WaitPending bounds how long a duplicate waits for the first request of
	// its serial to finish before answering CONFLICT.
	WaitPending time.Duration
	// MaxBody caps a request body; MaxScriptBody caps a script push's.
	MaxBody, MaxScriptBody int64
	// CallTimeout bounds each call to another function (DefaultCallTimeout).
	CallTimeout time.Duration
	// ConvergeWait bounds how long a switch or setting write waits for every
	// process in the roster to report it (DefaultConvergeWait; negative: do
	// not wait).
	ConvergeWait time.Duration
}

// Deps are the ports and peers the IDIP app uses. Store, Invoker, Locator,
// Publisher, Roster and Config are required; Scripts and Features may be nil
// (script commands then answer UNAVAILABLE; the idip switch is not checked).
type Deps struct {
	// Store holds the app's keys: idip/serial/... and idip/audit/...
	Store gamemesh.Store
	// Invoker reaches login, player and mail.
	Invoker gamemesh.Invoker
	// Locator says where an online player is (the online directory).
	Locator directory.Locator
	// Publisher carries kicks and notices to the gates' push topics.
	Publisher gamemesh.Publisher
	// Roster lists the gates (notices, online counts).
	Roster Roster
	// Config is the live configuration (switches, settings).
	Config ConfigStore
	// Scripts publishes Lua bundles.
	Scripts Scripts
	// Features is read for the "idip" switch.
	Features Features
	// Items is the item catalogue attachments and grants are checked
	// against (gamedata.Items() when nil).
	Items *gamedata.Catalog
	// Logger is scoped with app=idip; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// App is the operators' HTTP API. Create it with New, then Start and Stop it.
type App struct {
	cfg     Config
	deps    Deps
	log     *slog.Logger
	now     func() time.Time
	items   *gamedata.Catalog
	token   tokenCheck
	cmds    map[string]*command
	serials serials
	audit   *auditLog

	mu     sync.Mutex
	ln     net.Listener
	srv    *http.Server
	served chan struct{}
}

// New checks cfg and deps and returns a stopped App.
func New(cfg Config, deps Deps) (*App, error) {
	var errs []error
	if cfg.Addr == "" {
		errs = append(errs, errors.New("idip: Addr is required"))
	}
	tok, err := newTokenCheck(cfg.Token)
	if err != nil {
		errs = append(errs, err)
	}
	if deps.Store == nil || deps.Invoker == nil || deps.Locator == nil || deps.Publisher == nil || deps.Roster == nil || deps.Config == nil {
		errs = append(errs, errors.New("idip: Store, Invoker, Locator, Publisher, Roster and Config are required"))
	}
	if cfg.SerialTTL < 0 || cfg.Lease < 0 || cfg.WaitPending < 0 || cfg.MaxBody < 0 || cfg.MaxScriptBody < 0 || cfg.CallTimeout < 0 {
		errs = append(errs, fmt.Errorf("idip: negative limit in %+v", cfg))
	}
	if cfg.Identity != "" && !validOperator(cfg.Identity) {
		errs = append(errs, fmt.Errorf("idip: Identity %q: %s", cfg.Identity, operatorRule))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	items := deps.Items
	if items == nil {
		items = gamedata.Items()
	}
	a := &App{cfg: cfg, deps: deps, log: log.With("app", AppName), now: now, items: items, token: tok}
	a.serials = serials{store: deps.Store, now: now, ttl: cfg.SerialTTL, lease: cfg.Lease, wait: cfg.WaitPending}
	a.audit = newAuditLog(deps.Store, a.log, now)
	a.cmds = a.commands()
	return a, nil
}

func (c Config) withDefaults() Config {
	if c.Identity == "" {
		c.Identity = DefaultIdentity
	}
	if c.SerialTTL == 0 {
		c.SerialTTL = DefaultSerialTTL
	}
	if c.Lease == 0 {
		c.Lease = DefaultLease
	}
	if c.WaitPending == 0 {
		c.WaitPending = DefaultWaitPending
	}
	if c.MaxBody == 0 {
		c.MaxBody = DefaultMaxBody
	}
	if c.MaxScriptBody == 0 {
		c.MaxScriptBody = DefaultMaxScriptBody
	}
	if c.CallTimeout == 0 {
		c.CallTimeout = DefaultCallTimeout
	}
	if c.ConvergeWait == 0 {
		c.ConvergeWait = DefaultConvergeWait
	}
	return c
}

// Start starts the audit writer and serves the API on Config.Addr.
func (a *App) Start(context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.srv != nil {
		return errors.New("idip: already started")
	}
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return fmt.Errorf("idip: listen %s: %w", a.cfg.Addr, err)
	}
	a.audit.start()
	a.ln = ln
	a.srv = &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	a.served = make(chan struct{})
	srv, served := a.srv, a.served
	go func() {
		defer close(served)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("idip server stopped", "err", err)
		}
	}()
	a.log.Info("idip listening", "addr", ln.Addr().String())
	return nil
}

// Addr is the bound address ("" before Start).
func (a *App) Addr() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ln == nil {
		return ""
	}
	return a.ln.Addr().String()
}

// URL is the API's base URL, "http://host:port" ("" before Start).
func (a *App) URL() string {
	if addr := a.Addr(); addr != "" {
		return "http://" + addr
	}
	return ""
}

// Stop stops accepting requests, lets those in flight finish (within ctx),
// then flushes and stops the audit writer. Stop before Start does nothing.
func (a *App) Stop(ctx context.Context) error {
	a.mu.Lock()
	srv, served := a.srv, a.served
	a.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Shutdown(ctx)
	if err != nil {
		_ = srv.Close()
	}
	<-served
	return errors.Join(err, a.audit.stop(ctx))
}
