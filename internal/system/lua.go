package system

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/luavm"
)

// DefaultScriptsDir is where a node finds the repository's Lua modules.
const DefaultScriptsDir = "scripts"

// DefaultWatchPoll is how often LuaConfig.Watch re-reads the scripts folder.
const DefaultWatchPoll = 500 * time.Millisecond

// LuaConfig configures the Lua component of a node.
type LuaConfig struct {
	// ScriptsDir holds one folder per module (default DefaultScriptsDir). A
	// missing folder is not an error: the node then only follows the cluster.
	ScriptsDir string
	// Limits and Canary are the pool's initial budgets and canary policy
	// (zero fields: luavm defaults).
	Limits luavm.Limits
	Canary luavm.CanaryPolicy
	// Reread is the Follower's re-read period (default luavm.DefaultReread).
	Reread time.Duration
	// Watch (development) re-reads ScriptsDir every WatchPoll and PUSHES a
	// changed module through the Publisher, so the store stays the pool's one
	// source of generations (the Follower then adopts it like any push).
	Watch     bool
	WatchPoll time.Duration
}

// LuaConfigWriter writes a configuration key (embedded.FileConfig has it; in
// Dapr mode, the Redis writer used for feature switches).
type LuaConfigWriter interface {
	Set(key, value string) (version string, err error)
}

// LuaDeps are the ports the Lua component uses.
type LuaDeps struct {
	// Store holds bundles and histories (luavm/bundle/..., luavm/history/...).
	Store luavm.BundleStore
	// Config is where the active hashes are read and watched.
	Config gamemesh.ConfigSource
	// ConfigWriter sets active hashes (bootstrap, Watch, the operators'
	// pushes through IDIP). Nil: the node only follows; it publishes nothing.
	ConfigWriter LuaConfigWriter
	Logger       *slog.Logger
}

// Lua runs the node's Lua pool and keeps it on the cluster's active bundles:
// a luavm.Follower over the Store and the ConfigSource is the pool's one
// source of generations. At Start, each module of ScriptsDir that has no
// active bundle in the cluster yet is published from the folder (by
// "bootstrap"), so a fresh node runs the repository's rules.
type Lua struct {
	cfg      LuaConfig
	log      *slog.Logger
	pool     *luavm.Pool
	follower *luavm.Follower
	pub      *luavm.Publisher // nil without a ConfigWriter
	dirs     map[string]string
	modules  []string

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewLua builds a stopped component.
func NewLua(cfg LuaConfig, deps LuaDeps) (*Lua, error) {
	if deps.Store == nil || deps.Config == nil {
		return nil, errors.New("system: lua needs a store and a config source")
	}
	if cfg.ScriptsDir == "" {
		cfg.ScriptsDir = DefaultScriptsDir
	}
	if cfg.WatchPoll <= 0 {
		cfg.WatchPoll = DefaultWatchPoll
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Lua{cfg: cfg, log: log.With("part", "lua")}
	var err error
	if l.dirs, err = ScriptModules(cfg.ScriptsDir); err != nil {
		return nil, fmt.Errorf("system: %w", err)
	}
	for m := range l.dirs {
		l.modules = append(l.modules, m)
	}
	for m := range luavm.RequiredExports {
		if _, ok := l.dirs[m]; !ok {
			l.modules = append(l.modules, m)
		}
	}
	slices.Sort(l.modules)
	if l.pool, err = luavm.New(luavm.Options{Logger: log, Limits: cfg.Limits, Canary: cfg.Canary, Required: luavm.RequiredExports}); err != nil {
		return nil, fmt.Errorf("system: lua pool: %w", err)
	}
	if l.follower, err = luavm.NewFollower(l.pool, deps.Store, deps.Config,
		luavm.FollowerOptions{Modules: l.modules, Reread: cfg.Reread, Logger: log}); err != nil {
		return nil, fmt.Errorf("system: lua follower: %w", err)
	}
	if deps.ConfigWriter != nil {
		l.pub = luavm.NewPublisher(deps.Store, configRW{deps.Config, deps.ConfigWriter}, l.pool, log)
	}
	return l, nil
}

// ScriptModules returns the module folders directly under root (name ->
// path): folders with a valid module name holding a non-test .lua file. A
// missing root has none.
func ScriptModules(root string) (map[string]string, error) {
	out := map[string]string{}
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("scripts folder %s: %w", root, err)
	}
	for _, e := range entries {
		if !e.IsDir() || !gamemesh.ValidKeyPart(e.Name()) {
			continue
		}
		d := filepath.Join(root, e.Name())
		files, _ := filepath.Glob(filepath.Join(d, "*.lua"))
		for _, f := range files {
			if !strings.HasSuffix(f, "_test.lua") {
				out[e.Name()] = d
				break
			}
		}
	}
	return out, nil
}

// configRW joins a ConfigSource and a writer into a luavm.ConfigStore.
type configRW struct {
	gamemesh.ConfigSource
	LuaConfigWriter
}

func (c configRW) Get(ctx context.Context, keys []string) (map[string]gamemesh.ConfigItem, error) {
	return c.ConfigSource.Get(ctx, keys)
}

func (c configRW) Set(key, value string) (string, error) { return c.LuaConfigWriter.Set(key, value) }

// Pool returns the pool (for settings and stats).
func (l *Lua) Pool() *luavm.Pool { return l.pool }

// Modules returns the modules this node follows, sorted.
func (l *Lua) Modules() []string { return slices.Clone(l.modules) }

// CallBatch runs calls on module in one crossing (see luavm.Pool.CallBatch).
func (l *Lua) CallBatch(ctx context.Context, module string, calls []luavm.Call) ([]luavm.Result, luavm.Generation, error) {
	return l.pool.CallBatch(ctx, module, calls)
}

// Start starts the pool, publishes the scripts folder's modules the cluster
// has no bundle for, follows the cluster, and starts Watch if configured. A bootstrap bundle that fails its checks fails
// Start; a failed first sync is logged (the Follower keeps trying).
func (l *Lua) Start(ctx context.Context) error {
	if err := l.pool.Start(); err != nil {
		return fmt.Errorf("system: lua: %w", err)
	}
	last, err := l.bootstrap(ctx)
	if err != nil {
		return err
	}
	if err := l.follower.Start(ctx); err != nil {
		l.log.Warn("lua first cluster sync failed; the follower keeps trying", "err", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l.cancel = cancel
	if l.cfg.Watch && l.pub != nil {
		l.wg.Go(func() { l.watch(runCtx, last) })
	}
	return nil
}

// Stop stops the watch, the follower and the pool.
func (l *Lua) Stop(context.Context) error {
	if l.cancel != nil {
		l.cancel()
	}
	l.wg.Wait()
	return errors.Join(l.follower.Close(), l.pool.Close())
}

// bootstrap publishes each folder module without an active bundle and
// returns the folder hashes (for Watch).
func (l *Lua) bootstrap(ctx context.Context) (map[string]string, error) {
	last := map[string]string{}
	if l.pub == nil {
		return last, l.serveLocal(ctx)
	}
	for m, dir := range l.dirs {
		b, err := luavm.LoadModule(dir)
		if err != nil {
			return nil, fmt.Errorf("system: lua module %s: %w", m, err)
		}
		last[m] = b.Hash()
		h, err := l.pub.History(ctx, m)
		if err != nil {
			return nil, fmt.Errorf("system: lua history of %s: %w", m, err)
		}
		if h.Active != "" {
			continue
		}
		gen, err := l.pub.Push(ctx, b, "bootstrap", "dir:"+dir)
		if err != nil {
			return nil, fmt.Errorf("system: lua bootstrap of %s: %w", m, err)
		}
		l.log.Info("lua module published from the scripts folder", "module", m, "gen", gen.Number, "hash", gen.Hash)
	}
	return last, nil
}

// serveLocal is the bootstrap of a node that can only follow the cluster (no
// config writer, as in Dapr mode, where the configuration store has no write
// API): it serves the scripts folder's modules locally, so the node runs its
// rules from the start; the Follower swaps in the cluster's bundle as soon as
// one is published (and the cluster's generation numbers take over).
func (l *Lua) serveLocal(ctx context.Context) error {
	for m, dir := range l.dirs {
		b, err := luavm.LoadModule(dir)
		if err != nil {
			return fmt.Errorf("system: lua module %s: %w", m, err)
		}
		gen, err := l.pool.Patch(ctx, b, luavm.PatchOptions{By: "bootstrap", Source: "local:" + dir, SkipCanary: true})
		if err != nil {
			return fmt.Errorf("system: lua module %s: %w", m, err)
		}
		l.log.Info("lua module served from the local scripts folder until the cluster publishes one", "module", m, "gen", gen.Number, "hash", gen.Hash)
	}
	return nil
}

// watch polls the scripts folder and pushes changed modules through the
// Publisher. It compares with the folder's previous content, not with the
// cluster, so a rollback by ctl is not undone until the files change again.
func (l *Lua) watch(ctx context.Context, last map[string]string) {
	t := time.NewTicker(l.cfg.WatchPoll)
	defer t.Stop()
	refused := map[string]string{}
	// seen is a module's folder hash at the previous poll: a change is
	// published only once two polls in a row see the same content, so a file
	// caught half-written by an editor is never published (an empty or
	// truncated file may well compile).
	seen := map[string]string{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for m, dir := range l.dirs {
			b, err := luavm.LoadModule(dir)
			var hash string
			if err == nil {
				hash = b.Hash()
			} else {
				hash = "error: " + err.Error()
			}
			stable := seen[m] == hash
			seen[m] = hash
			if !stable || (err == nil && hash == last[m]) {
				continue
			}
			if err == nil {
				_, err = l.pub.Push(ctx, b, "fswatch", "dir:"+dir)
			}
			if err != nil {
				if msg := gamemesh.MessageOf(err); refused[m] != msg && ctx.Err() == nil {
					refused[m] = msg
					l.log.Error("script change refused; the running generation keeps serving", "module", m, "err", msg)
				}
				continue
			}
			delete(refused, m)
			last[m] = hash
		}
	}
}
