package system

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/embedded"
	"github.com/gamemesh/gamemesh/feature"
	"github.com/gamemesh/gamemesh/functions"
	"github.com/gamemesh/gamemesh/functions/idip"
	"github.com/gamemesh/gamemesh/gate"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/ticket"
)

// EmbeddedConfig configures a whole backend in one process.
type EmbeddedConfig struct {
	// DataDir holds the bbolt file, the live config file and the generated ticket secret.
	DataDir string
	// Gate configures the gate; its ID defaults to "gate-1".
	Gate gate.Config
	// WelcomeGift is mailed once to every new player (nil: the default gift).
	WelcomeGift []*gamev1.Item
	// Lua configures the Lua runtime (scripts folder, watch, budgets).
	Lua LuaConfig
	// IDIPAddr is where the operators' IDIP API listens ("" serves none;
	// `gamemesh up` defaults to DefaultIDIPAddr). Its admin token is
	// generated into the data directory (IDIPTokenPath) on first start.
	IDIPAddr string
	// Scene configures the scene host run in process (see EmbeddedScene).
	Scene EmbeddedScene
}

// DefaultWelcomeGift is what a new player finds in its mailbox.
func DefaultWelcomeGift() []*gamev1.Item {
	return []*gamev1.Item{{Id: "gold", Count: 100}, {Id: "potion", Count: 5}}
}

// Embedded is the whole backend in one process on embedded adapters: a bbolt
// file for state and events, and in-process function calls.
type Embedded struct {
	cfg    EmbeddedConfig
	log    *slog.Logger
	db     *embedded.DB
	config *embedded.FileConfig
	flags  *feature.Flags
	lua    *Lua
	// stopWatch ends the live-settings watches (gate limits, Lua limits).
	stopWatch func()
	reg       *functions.Registry
	gate      *gate.Gate
	roster    *directory.MemoryRoster
	announce  *directory.Announcer
	idip      *idip.App // nil without IDIPAddr
	scene     *embeddedScene
	subCtx    context.Context
	cancel    context.CancelFunc
	jobs      jobs // the apps' background jobs (mail sweeper)
	// SecretSource says where the ticket secret came from (for the start log).
	SecretSource string
	// IDIPTokenSource says where the IDIP admin token is (for the start log).
	IDIPTokenSource string
}

// DBPath names the bbolt file in a data directory.
func DBPath(dataDir string) string { return filepath.Join(dataDir, "gamemesh.db") }

// ConfigPath names the live configuration file (feature switches and
// settings) in a data directory; `gamemesh ctl` writes it, `up` watches it.
func ConfigPath(dataDir string) string { return filepath.Join(dataDir, "config.json") }

// NewEmbedded opens the data directory and builds every part; nothing listens
// until Start.
func NewEmbedded(cfg EmbeddedConfig, log *slog.Logger) (e *Embedded, err error) {
	if cfg.DataDir == "" {
		return nil, errors.New("system: DataDir is required")
	}
	if cfg.Gate.ID == "" {
		cfg.Gate.ID = "gate-1"
	}
	if cfg.WelcomeGift == nil {
		cfg.WelcomeGift = DefaultWelcomeGift()
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("system: data dir: %w", err)
	}
	secret, source, err := LoadTicketSecret(filepath.Join(cfg.DataDir, "ticket.secret"))
	if err != nil {
		return nil, fmt.Errorf("system: %w", err)
	}
	e = &Embedded{cfg: cfg, log: log, reg: functions.NewRegistry(), SecretSource: source}
	built := e // e is nil in the deferred func after a failed return
	defer func() {
		if err != nil {
			_ = built.close()
		}
	}()
	if e.db, err = embedded.Open(DBPath(cfg.DataDir), embedded.Options{Logger: log.With("part", "store")}); err != nil {
		return nil, fmt.Errorf("system: %w", err)
	}
	if e.config, err = embedded.OpenFileConfig(ConfigPath(cfg.DataDir), log.With("part", "config")); err != nil {
		return nil, fmt.Errorf("system: %w", err)
	}
	metrics := newProcessMetrics()
	if e.flags, err = newFlags(e.config, cfg.Gate, log, metrics.reg); err != nil {
		return nil, err
	}
	e.reg.SetFeatures(e.flags)
	store, pub := e.db.Store(), e.db.Publisher()
	luaCfg := cfg.Lua
	// Writers of the config file (Lua activations, IDIP) take ctl's lock.
	locked := lockedFileConfig{fc: e.config, lock: ConfigLockPath(cfg.DataDir)}
	if e.lua, err = NewLua(luaCfg, LuaDeps{Store: store, Config: e.config, ConfigWriter: luaWriter{set: locked.Set}, Logger: log.With("part", "lua")}); err != nil {
		return nil, fmt.Errorf("system: %w", err)
	}
	inv := embedded.NewInvoker(e.reg, log.With("part", "invoker"))
	dir := directory.NewMemory()
	e.roster = directory.NewMemoryRoster(0)
	if e.scene, err = newEmbeddedScene(cfg.Scene, sceneParts{invoker: inv, pub: pub, sub: e.db, roster: e.roster,
		flags: e.flags, lua: e.lua, metrics: metrics.reg, log: log}); err != nil {
		return nil, err
	}

	ports := appPorts{
		store: store, invoker: inv, pub: pub, pusher: directory.Pusher{Locator: dir, Publisher: pub},
		features: e.flags, ticketSecret: secret, rules: luaRules{e.lua}, welcome: cfg.WelcomeGift, log: log,
		templates: luaTemplates{e.lua}, jobs: &e.jobs,
	}
	if err := registerApps(e.reg, FunctionApps(), ports); err != nil {
		return nil, err
	}

	verifier, err := ticket.NewVerifier(secret)
	if err != nil {
		return nil, fmt.Errorf("system: %w", err)
	}
	e.gate, err = gate.New(cfg.Gate, gate.Deps{
		Invoker:    inv,
		Tickets:    verifier,
		Used:       directory.Once{Store: store, Prefix: "gate/ticket-used/"},
		Directory:  dir,
		Subscriber: e.db,
		Publisher:  pub,
		Features:   e.flags,
		Scenes:     e.scene.locator(),
		Logger:     log.With("part", "gate"),

		Metrics:        metrics.reg, // the process registry, served at GET /metrics
		MetricsHandler: metrics.handler,
	})
	if err != nil {
		return nil, fmt.Errorf("system: %w", err)
	}
	if cfg.IDIPAddr != "" {
		if e.idip, e.IDIPTokenSource, err = embeddedIDIP(e, ports, dir, locked); err != nil {
			return nil, err
		}
	}
	var stopReport func()
	e.announce, stopReport = newAnnouncer(e.roster, rosterMember{
		member: directory.Member{ID: cfg.Gate.ID, Kind: directory.KindGate},
		flags:  e.flags, lua: e.lua, online: e.gate.Online,
	}, log)
	stopGate, stopLua := watchGateLimits(e.flags, e.gate, log), watchLuaLimits(e.flags, e.lua, log)
	e.stopWatch = func() { stopGate(); stopLua(); stopReport() }
	return e, nil
}

// Start subscribes the functions to their topics and opens the gate's listeners.
func (e *Embedded) Start(ctx context.Context) error {
	e.subCtx, e.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if err := e.flags.Start(ctx); err != nil {
		return fmt.Errorf("system: %w", err)
	}
	if err := e.lua.Start(ctx); err != nil {
		return fmt.Errorf("system: %w", err)
	}
	for _, s := range e.reg.Subscriptions() {
		if err := e.db.Subscribe(e.subCtx, s); err != nil {
			return fmt.Errorf("system: subscribing %s to %s: %w", s.Group, s.Topic, err)
		}
	}
	if err := e.jobs.start(ctx); err != nil {
		return err
	}
	if err := e.scene.start(ctx, e.roster, e.flags, e.lua, e.log); err != nil {
		return err
	}
	if err := e.gate.Start(ctx); err != nil {
		return fmt.Errorf("system: %w", err)
	}
	if err := e.announce.Start(ctx); err != nil {
		return fmt.Errorf("system: %w", err)
	}
	if e.idip != nil {
		if err := e.idip.Start(ctx); err != nil {
			return fmt.Errorf("system: %w", err)
		}
		// ctl finds the running node's API here (its token is in idip.token).
		if err := writeFileAtomic(IDIPURLPath(e.cfg.DataDir), []byte(e.idip.URL()+"\n")); err != nil {
			return fmt.Errorf("system: %w", err)
		}
	}
	return nil
}

// IDIP returns the operators' API (nil when EmbeddedConfig.IDIPAddr is empty).
func (e *Embedded) IDIP() *idip.App { return e.idip }

// Roster returns the roster of running processes (in embedded mode: this
// one, announced as its gate).
func (e *Embedded) Roster() Roster { return e.roster }

// Gate returns the running gate (for its addresses).
func (e *Embedded) Gate() *gate.Gate { return e.gate }

// Lua returns the node's Lua component (for tests and tools).
func (e *Embedded) Lua() *Lua { return e.lua }

// Registry returns the function registry (for tests and tools).
func (e *Embedded) Registry() *functions.Registry { return e.reg }

// Stop stops the gate gracefully (players are told), then the event delivery,
// then closes the files. Every acknowledged change is already on disk.
func (e *Embedded) Stop(ctx context.Context) error {
	var errs []error
	if e.idip != nil {
		if err := os.Remove(IDIPURLPath(e.cfg.DataDir)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
		if err := e.idip.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("idip: %w", err))
		}
	}
	if e.announce != nil {
		leaveRoster(ctx, e.announce, e.log)
	}
	if e.gate != nil {
		if err := e.gate.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("gate: %w", err))
		}
	}
	if err := e.scene.stop(ctx); err != nil { // after the gate: its players' records are saved
		errs = append(errs, fmt.Errorf("scene: %w", err))
	}
	if err := e.close(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (e *Embedded) close() error {
	var errs []error
	if e.cancel != nil {
		e.cancel()
	}
	if e.stopWatch != nil {
		e.stopWatch()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.jobs.stop(ctx); err != nil {
		errs = append(errs, err)
	}
	if e.lua != nil {
		if err := e.lua.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("lua: %w", err))
		}
	}
	if e.flags != nil {
		if err := e.flags.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("feature: %w", err))
		}
	}
	if e.config != nil {
		if err := e.config.Close(); err != nil {
			errs = append(errs, fmt.Errorf("config: %w", err))
		}
	}
	if e.db != nil {
		if err := e.db.Close(); err != nil {
			errs = append(errs, fmt.Errorf("store: %w", err))
		}
	}
	return errors.Join(errs...)
}
