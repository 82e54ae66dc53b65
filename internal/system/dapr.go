package system

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/dapr"
	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/directory/redisdir"
	"github.com/gamemesh/gamemesh/embedded"
	"github.com/gamemesh/gamemesh/feature"
	"github.com/gamemesh/gamemesh/functions"
	"github.com/gamemesh/gamemesh/functions/idip"
	"github.com/gamemesh/gamemesh/gate"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/ticket"
)

// Names of the Dapr components (components/) and the secret gamemesh uses.
const (
	StateStore       = "statestore"  // keys owned by one app (app-id prefix)
	SharedStateStore = "sharedstate" // keys every app sees: single-use tickets, Lua bundles
	PubSub           = "pubsub"
	ConfigStore      = "configstore"
	SecretStore      = "secretstore"
	TicketSecretName = "TICKET_KEY"
)

// Prefixes of the keys in SharedStateStore.
const (
	ticketUsedPrefix = "ticket:"
)

// DaprFunctionsConfig configures a process serving function apps as one Dapr app.
type DaprFunctionsConfig struct {
	// Only names the function apps to serve (default: all of FunctionApps).
	Only []string
	// AppAddr is where the app channel listens for its sidecar (gRPC).
	AppAddr string
	// Routes maps each function app to the Dapr app id serving it, for the
	// calls these functions make to each other.
	Routes map[string]string
	// WelcomeGift is mailed once to every new player (nil: the default gift).
	WelcomeGift []*gamev1.Item
	// ScriptsDir holds the Lua modules served until the cluster publishes
	// its own (achievement rules); default "scripts".
	ScriptsDir string
	// ReadyTimeout bounds the wait for the sidecar at start.
	ReadyTimeout time.Duration
	// ID names this process in the cluster roster (default "functions-<host>").
	ID string
	// RedisAddr and RedisPassword reach the Redis of the roster (required).
	RedisAddr, RedisPassword string
	// IDIPAddr is where the IDIP API listens when "idip" is in Only
	// (DefaultIDIPAddr when empty).
	IDIPAddr string
	// IDIPTokenFile is where the IDIP app keeps a generated admin token when
	// the secret store holds none (LoadIDIPToken: created with a fresh random
	// token on first start, mode 0600, and printed once). Empty: the secret
	// is required.
	IDIPTokenFile string
	// AdminAddr is where health, readiness and metrics are served
	// (admin.go); "" serves none.
	AdminAddr string
}

// DaprFunctions is a running `gamemesh fn`: function apps served through a sidecar.
type DaprFunctions struct {
	client *dapr.Client
	app    *dapr.App
	reg    *functions.Registry
	config *dapr.ConfigSource
	flags  *feature.Flags
	lua    *Lua // nil unless achievement or mail is served
	jobs   jobs
	redis  *redis.Client
	roster *redisdir.Roster
	// announce keeps this process in the roster; stopReport ends its
	// refresh on configuration changes.
	announce   *directory.Announcer
	stopReport func()
	log        *slog.Logger
	idip       *daprIDIP      // nil unless idip is served
	admin      *adminListener // health, readiness, metrics; nil without an address
}

// NewDaprFunctions connects to the sidecar (address and token from the DAPR_*
// environment), reads the ticket secret if login is served, builds the apps
// and their app channel. Nothing is served until Start.
func NewDaprFunctions(ctx context.Context, cfg DaprFunctionsConfig, log *slog.Logger) (f *DaprFunctions, err error) {
	if cfg.Only, err = validApps(cfg.Only); err != nil {
		return nil, err
	}
	if cfg.WelcomeGift == nil {
		cfg.WelcomeGift = DefaultWelcomeGift()
	}
	rc, err := dialRedis(ctx, cfg.RedisAddr, cfg.RedisPassword)
	if err != nil {
		return nil, err
	}
	c, err := dialSidecar(ctx, cfg.ReadyTimeout, log)
	if err != nil {
		_ = rc.Close()
		return nil, err
	}
	f = &DaprFunctions{client: c, reg: functions.NewRegistry(), redis: rc, roster: redisRoster(rc), log: log}
	built := f // f is nil in the deferred func after a failed return
	defer func() {
		if err != nil {
			if built.idip != nil {
				_ = built.idip.close()
			}
			_ = c.Close()
			_ = rc.Close()
		}
	}()
	f.config = dapr.NewConfigSource(c, ConfigStore, dapr.ConfigOptions{Logger: log.With("part", "config")})
	metrics := newProcessMetrics()
	if f.flags, err = newFlags(f.config, gate.Config{}, log, metrics.reg); err != nil {
		return nil, err
	}
	f.admin = newAdminListener(cfg.AdminAddr, metrics.handler, []adminCheck{{name: "sidecar", check: c.WaitReady}}, log.With("part", "admin"))
	f.reg.SetFeatures(f.flags)
	store, pub := dapr.NewStore(c, StateStore), dapr.NewPublisher(c, PubSub)
	// Apps served here call each other in process; the others through the sidecar.
	inv := localFirst{reg: f.reg, local: embedded.NewInvoker(f.reg, log.With("part", "invoker")),
		remote: dapr.NewInvoker(c, dapr.InvokerOptions{AppIDs: cfg.Routes})}
	dir := redisdir.NewOnline(rc, redisdir.OnlineOptions{}) // read only here: the gates register and refresh
	ports := appPorts{store: store, invoker: inv, pub: pub, pusher: directory.Pusher{Locator: dir, Publisher: pub},
		features: f.flags, welcome: cfg.WelcomeGift, log: log, jobs: &f.jobs}
	if slices.Contains(cfg.Only, "login") {
		if ports.ticketSecret, err = ticketSecret(ctx, c); err != nil {
			return nil, err
		}
	}
	if slices.Contains(cfg.Only, "achievement") || slices.Contains(cfg.Only, "mail") {
		// Lua bundles live in the shared store so every host follows the same ones.
		f.lua, err = NewLua(LuaConfig{ScriptsDir: cfg.ScriptsDir}, LuaDeps{Store: dapr.NewStore(c, SharedStateStore),
			Config: f.config, Logger: log.With("part", "lua")})
		if err != nil {
			return nil, fmt.Errorf("system: %w", err)
		}
		ports.rules, ports.templates = luaRules{f.lua}, luaTemplates{f.lua}
	}
	if err = registerApps(f.reg, cfg.Only, ports); err != nil {
		return nil, err
	}
	if slices.Contains(cfg.Only, idip.AppName) {
		if f.idip, err = newDaprIDIP(ctx, c, cfg, ports, dir, f.roster, f.flags, log); err != nil {
			return nil, err
		}
	}
	f.app, err = dapr.NewApp(dapr.AppOptions{Registry: f.reg, Address: cfg.AppAddr, PubSub: PubSub,
		AppToken: os.Getenv(dapr.EnvAppAPIToken), Logger: log.With("part", "app")})
	if err != nil {
		return nil, fmt.Errorf("system: %w", err)
	}
	apps := strings.Join(cfg.Only, ",")
	kind := directory.KindFunctions
	if apps == idip.AppName {
		kind = directory.KindIDIP
	}
	f.announce, f.stopReport = newAnnouncer(f.roster, rosterMember{
		member: directory.Member{ID: memberID(kind, cfg.ID), Kind: kind},
		flags:  f.flags, lua: f.lua, extra: func() map[string]string { return map[string]string{"apps": apps} },
	}, log)
	return f, nil
}

// Roster returns the cluster roster (in Redis).
func (f *DaprFunctions) Roster() Roster { return f.roster }

// Addr is the app channel's address.
func (f *DaprFunctions) Addr() string { return f.app.Addr().String() }

// Start reads the feature switches and serves the app channel; the sidecar
// then reads the subscriptions.
func (f *DaprFunctions) Start(ctx context.Context) error {
	if err := f.admin.Start(); err != nil {
		return err
	}
	if err := f.flags.Start(ctx); err != nil {
		return fmt.Errorf("system: %w", err)
	}
	if f.lua != nil {
		if err := f.lua.Start(ctx); err != nil {
			return err
		}
	}
	if err := f.app.Start(); err != nil {
		return err
	}
	if err := f.jobs.start(ctx); err != nil {
		return err
	}
	if err := f.announce.Start(ctx); err != nil {
		return fmt.Errorf("system: %w", err)
	}
	if f.idip != nil {
		if err := f.idip.app.Start(ctx); err != nil {
			return fmt.Errorf("system: %w", err)
		}
	}
	f.admin.SetReady(true)
	return nil
}

// IDIP returns the operators' API when "idip" is served (else nil).
func (f *DaprFunctions) IDIP() *idip.App {
	if f.idip == nil {
		return nil
	}
	return f.idip.app
}

// AdminAddr is the bound address of the admin listener ("" when none).
func (f *DaprFunctions) AdminAddr() string { return f.admin.Addr() }

// Stop leaves the roster, stops serving and closes the sidecar connection.
func (f *DaprFunctions) Stop(ctx context.Context) error {
	var err error
	if f.idip != nil {
		err = f.idip.stop(ctx)
	}
	f.stopReport()
	f.admin.SetReady(false) // not ready while stopping; answers until the end
	leaveRoster(ctx, f.announce, f.log)
	err = errors.Join(err, f.jobs.stop(ctx), f.app.Stop(ctx), f.flags.Stop(ctx))
	if f.lua != nil {
		err = errors.Join(err, f.lua.Stop(ctx))
	}
	f.config.Close()
	return errors.Join(err, f.admin.Stop(ctx), f.client.Close(), f.redis.Close())
}

// DaprGateConfig configures a gate whose calls go through its sidecar.
type DaprGateConfig struct {
	Gate gate.Config
	// AppAddr is where the gate's app channel listens for its sidecar (pushes).
	AppAddr string
	// Routes maps each function app to the Dapr app id serving it.
	Routes       map[string]string
	ReadyTimeout time.Duration
	// RedisAddr and RedisPassword reach the Redis of the roster (required).
	RedisAddr, RedisPassword string
}

// DaprGate is a running `gamemesh gate` in Dapr mode.
type DaprGate struct {
	client    *dapr.Client
	app       *dapr.App
	gate      *gate.Gate
	config    *dapr.ConfigSource
	flags     *feature.Flags
	stopWatch func()
	redis     *redis.Client
	roster    *redisdir.Roster
	online    *redisdir.Online
	announce  *directory.Announcer
	log       *slog.Logger
}

// NewDaprGate connects to the sidecar, reads the ticket secret and builds the gate.
func NewDaprGate(ctx context.Context, cfg DaprGateConfig, log *slog.Logger) (g *DaprGate, err error) {
	rc, err := dialRedis(ctx, cfg.RedisAddr, cfg.RedisPassword)
	if err != nil {
		return nil, err
	}
	c, err := dialSidecar(ctx, cfg.ReadyTimeout, log)
	if err != nil {
		_ = rc.Close()
		return nil, err
	}
	g = &DaprGate{client: c, redis: rc, roster: redisRoster(rc), log: log,
		online: redisdir.NewOnline(rc, redisdir.OnlineOptions{Logger: log.With("part", "directory")})}
	defer func() {
		if err != nil {
			if g.app != nil {
				_ = g.app.Stop(context.Background()) // not serving yet: closes its listener
			}
			_ = c.Close()
			_ = rc.Close()
		}
	}()
	secret, err := ticketSecret(ctx, c)
	if err != nil {
		return nil, err
	}
	verifier, err := ticket.NewVerifier(secret)
	if err != nil {
		return nil, fmt.Errorf("system: %w", err)
	}
	g.app, err = dapr.NewApp(dapr.AppOptions{Address: cfg.AppAddr, PubSub: PubSub,
		AppToken: os.Getenv(dapr.EnvAppAPIToken), Logger: log.With("part", "app")})
	if err != nil {
		return nil, fmt.Errorf("system: %w", err)
	}
	shared := dapr.NewStore(c, SharedStateStore)
	if cfg.Gate.ID == "" {
		cfg.Gate.ID = "gate-1"
	}
	g.config = dapr.NewConfigSource(c, ConfigStore, dapr.ConfigOptions{Logger: log.With("part", "config")})
	metrics := newProcessMetrics()
	if g.flags, err = newFlags(g.config, cfg.Gate, log, metrics.reg); err != nil {
		return nil, err
	}
	g.gate, err = gate.New(cfg.Gate, gate.Deps{
		Invoker:    dapr.NewInvoker(c, dapr.InvokerOptions{AppIDs: cfg.Routes}),
		Tickets:    verifier,
		Used:       directory.Once{Store: shared, Prefix: ticketUsedPrefix},
		Directory:  g.online, // go-redis, refreshed while this gate runs: shared by every gate
		Subscriber: g.app,
		Publisher:  dapr.NewPublisher(c, PubSub), // kicks to the gate holding an older session
		Features:   g.flags,
		// Realtime routes go straight to the scene hosts (direct gRPC links).
		Scenes: directory.SceneLocator{Scenes: redisdir.NewScenes(rc, ""), Roster: g.roster},
		Logger: log.With("part", "gate"),

		Metrics:        metrics.reg, // the process registry, served at GET /metrics
		MetricsHandler: metrics.handler,
	})
	if err != nil {
		return nil, fmt.Errorf("system: %w", err)
	}
	var stopReport func()
	g.announce, stopReport = newAnnouncer(g.roster, rosterMember{
		member: directory.Member{ID: cfg.Gate.ID, Kind: directory.KindGate},
		flags:  g.flags, online: g.gate.Online,
	}, log)
	stopLimits := watchGateLimits(g.flags, g.gate, log)
	g.stopWatch = func() { stopLimits(); stopReport() }
	return g, nil
}

// Roster returns the cluster roster (in Redis).
func (g *DaprGate) Roster() Roster { return g.roster }

// Gate returns the gate (for its addresses).
func (g *DaprGate) Gate() *gate.Gate { return g.gate }

// Start opens the gate's listeners (subscribing its push topic) and then the
// app channel, so the sidecar sees the subscription.
func (g *DaprGate) Start(ctx context.Context) error {
	if err := g.flags.Start(ctx); err != nil {
		return fmt.Errorf("system: %w", err)
	}
	if err := g.online.Start(ctx); err != nil {
		return fmt.Errorf("system: %w", err)
	}
	if err := g.gate.Start(ctx); err != nil {
		return fmt.Errorf("system: %w", err)
	}
	if err := g.app.Start(); err != nil {
		return err
	}
	if err := g.announce.Start(ctx); err != nil {
		return fmt.Errorf("system: %w", err)
	}
	return nil
}

// Stop leaves the roster, stops the gate gracefully, then the app channel
// and the sidecar connection.
func (g *DaprGate) Stop(ctx context.Context) error {
	leaveRoster(ctx, g.announce, g.log)
	err := errors.Join(g.gate.Stop(ctx), g.app.Stop(ctx))
	err = errors.Join(err, g.online.Stop(ctx)) // after the gate: its sessions unregistered themselves
	g.stopWatch()
	err = errors.Join(err, g.flags.Stop(ctx))
	g.config.Close()
	return errors.Join(err, g.client.Close(), g.redis.Close())
}

func dialSidecar(ctx context.Context, timeout time.Duration, log *slog.Logger) (*dapr.Client, error) {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	c, err := dapr.Dial(dapr.OptionsFromEnv(log.With("part", "dapr")))
	if err != nil {
		return nil, fmt.Errorf("system: dapr: %w", err)
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := c.WaitReady(rctx); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("system: waiting for the sidecar (DAPR_GRPC_PORT=%q): %w", os.Getenv(dapr.EnvGRPCPort), err)
	}
	return c, nil
}

// ticketSecret reads the ticket signing key from the secret store.
func ticketSecret(ctx context.Context, c *dapr.Client) ([]byte, error) {
	s, err := dapr.NewSecrets(c, SecretStore).Get(ctx, TicketSecretName)
	if err != nil {
		return nil, fmt.Errorf("system: ticket secret %s from %s: %w", TicketSecretName, SecretStore, err)
	}
	b, err := decodeSecret(s)
	if err != nil {
		return nil, fmt.Errorf("system: ticket secret %s: %w", TicketSecretName, err)
	}
	return b, nil
}

// ParseRoutes parses "app=daprAppID,..." into a route map; every function app
// not named goes to defaultAppID.
func ParseRoutes(spec, defaultAppID string) (map[string]string, error) {
	routes := map[string]string{}
	for _, a := range FunctionApps() {
		routes[a] = defaultAppID
	}
	if spec == "" {
		return routes, nil
	}
	for _, kv := range strings.Split(spec, ",") {
		app, id, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok || !gamemesh.ValidKeyPart(id) || app == "" {
			return nil, fmt.Errorf("route %q: want app=daprAppID", kv)
		}
		routes[app] = id
	}
	return routes, nil
}
