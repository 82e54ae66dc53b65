package luavm

import (
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"

	lua "github.com/yuin/gopher-lua"

	"github.com/gamemesh/gamemesh"
)

// DefaultKeep is how many generations per module a pool keeps for rollback.
const DefaultKeep = 8

// Options configure a Pool.
type Options struct {
	// Logger receives the pool's and the scripts' logs; nil discards them.
	Logger *slog.Logger
	// Limits are the initial pool size and budgets (zero fields: defaults).
	Limits Limits
	// Canary is the initial canary policy (zero fields: defaults).
	Canary CanaryPolicy
	// Required lists, per module, the functions a bundle must define to be
	// accepted (for example {"achievement": {"on_event"}}).
	Required map[string][]string
	// Keep is how many generations per module are kept (default DefaultKeep).
	Keep int
}

// Call is one call of a batch: a function of the module and its arguments
// (plain Go values; see value.go for what may cross).
type Call struct {
	Fn   string
	Args []any
}

// Result is the outcome of one call: the function's return values, or the
// error (a *gamemesh.Error; its Err is a *ScriptError when the script failed
// or hit a budget).
type Result struct {
	Values []any
	Err    error
}

// Pool runs Lua on worker goroutines locked to their OS threads. Work reaches
// a worker in batches: one batch crosses the goroutine/thread boundary once
// (about 35 µs here) however many calls it carries. A Pool is safe for
// concurrent use; Start it before use and Close it after.
type Pool struct {
	log      *slog.Logger
	keep     int
	required map[string][]string

	limits atomic.Pointer[Limits]
	canary atomic.Pointer[CanaryPolicy]
	config atomic.Pointer[map[string]any]

	jobs chan *job
	done chan struct{}

	mu      sync.Mutex // workers, lifecycle, config writes
	workers []*worker
	nextID  int
	started bool
	closed  bool
	wg      sync.WaitGroup

	modMu   sync.RWMutex
	modules map[string]*module

	batches  atomic.Uint64
	vmBuilds atomic.Uint64

	watchMu  sync.Mutex
	watchers map[*func()]struct{} // see OnChange
}

// New checks opts and returns a stopped pool.
func New(opts Options) (*Pool, error) {
	tune()
	lim := opts.Limits.withDefaults()
	if err := lim.validate(); err != nil {
		return nil, err
	}
	canary := opts.Canary.withDefaults()
	if err := canary.validate(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	keep := opts.Keep
	if keep == 0 {
		keep = DefaultKeep
	}
	if keep < 2 || keep > 1000 {
		return nil, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "luavm keep %d must be in [2, 1000]", keep)
	}
	required := make(map[string][]string, len(opts.Required))
	for m, fns := range opts.Required {
		required[m] = append([]string(nil), fns...)
	}
	p := &Pool{
		log:      log.With("component", "luavm"),
		keep:     keep,
		required: required,
		jobs:     make(chan *job),
		done:     make(chan struct{}),
		modules:  make(map[string]*module),
		watchers: make(map[*func()]struct{}),
	}
	p.limits.Store(&lim)
	p.canary.Store(&canary)
	p.config.Store(&map[string]any{})
	return p, nil
}

// Start starts the workers.
func (p *Pool) Start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return gamemesh.Errorf(gamemesh.CodeShuttingDown, "luavm pool is closed")
	}
	if p.started {
		return nil
	}
	p.started = true
	p.resizeLocked(p.limits.Load().Workers)
	p.log.Info("lua pool started", "limits", p.limits.Load().String())
	return nil
}

// Close stops the workers after the batches they are running, fails batches
// that are waiting, and stops canary timers. It is idempotent.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.done)
	p.workers = nil
	p.mu.Unlock()
	p.wg.Wait()
	p.modMu.RLock()
	for _, m := range p.modules {
		m.mu.Lock()
		if r := m.route.Load(); r.run != nil && r.run.timer != nil {
			r.run.timer.Stop()
		}
		m.mu.Unlock()
	}
	p.modMu.RUnlock()
	return nil
}

// resizeLocked starts or stops workers to reach n.
func (p *Pool) resizeLocked(n int) {
	for len(p.workers) < n {
		w := newWorker(p, p.nextID)
		p.nextID++
		p.workers = append(p.workers, w)
		p.wg.Go(w.run)
	}
	for len(p.workers) > n {
		w := p.workers[len(p.workers)-1]
		p.workers = p.workers[:len(p.workers)-1]
		close(w.quit)
	}
}

// OnChange calls fn after what serves a module changed — a generation
// activated, a canary started, promoted or rolled back — so a reporter can
// announce it at once instead of on its next period; cancel stops the
// calls. fn runs synchronously in the goroutine that made the change, with
// the pool's routing locks held: it must be quick, must not block and must
// not patch or roll back (a non-blocking wake-up, like
// directory.Announcer.Refresh). Read Active and Canary for the state.
func (p *Pool) OnChange(fn func()) (cancel func()) {
	w := &fn
	p.watchMu.Lock()
	p.watchers[w] = struct{}{}
	p.watchMu.Unlock()
	return func() {
		p.watchMu.Lock()
		delete(p.watchers, w)
		p.watchMu.Unlock()
	}
}

// changed calls every OnChange function.
func (p *Pool) changed() {
	p.watchMu.Lock()
	defer p.watchMu.Unlock()
	for fn := range p.watchers {
		(*fn)()
	}
}

// Limits returns the current limits.
func (p *Pool) Limits() Limits { return *p.limits.Load() }

// SetLimits changes the pool size and budgets without a restart (zero
// fields: defaults). Budgets apply from the next call; VMs built with other
// stack or registry sizes are rebuilt at their next use.
func (p *Pool) SetLimits(l Limits) error {
	l = l.withDefaults()
	if err := l.validate(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.limits.Store(&l)
	if p.started && !p.closed {
		p.resizeLocked(l.Workers)
	}
	p.log.Info("lua limits changed", "limits", l.String())
	return nil
}

// CanaryPolicy returns the current canary policy.
func (p *Pool) CanaryPolicy() CanaryPolicy { return *p.canary.Load() }

// SetCanaryPolicy changes the policy for canaries started from now on.
func (p *Pool) SetCanaryPolicy(c CanaryPolicy) error {
	c = c.withDefaults()
	if err := c.validate(); err != nil {
		return err
	}
	p.canary.Store(&c)
	return nil
}

// SetConfig publishes (or, with a nil value, removes) a configuration table
// scripts read with config.get(name). It must be a value that may cross the
// boundary within the current limits.
func (p *Pool) SetConfig(name string, value any) error {
	if name == "" || len(name) > 64 {
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "config name must be 1-64 bytes")
	}
	if value != nil {
		L := lua.NewState(lua.Options{SkipOpenLibs: true})
		_, err := newConverter(*p.limits.Load()).toLua(L, value, 0)
		L.Close()
		if err != nil {
			return err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	next := make(map[string]any, len(*p.config.Load())+1)
	for k, v := range *p.config.Load() {
		next[k] = v
	}
	if value == nil {
		delete(next, name)
	} else {
		next[name] = value
	}
	p.config.Store(&next)
	return nil
}

func (p *Pool) configValue(name string) (any, bool) {
	v, ok := (*p.config.Load())[name]
	return v, ok
}

// ready fails when the pool cannot take work.
func (p *Pool) ready() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		return gamemesh.Errorf(gamemesh.CodeShuttingDown, "luavm pool is closed")
	case !p.started:
		return gamemesh.Errorf(gamemesh.CodeUnavailable, "luavm pool is not started")
	}
	return nil
}

func (p *Pool) lookup(name string) *module {
	p.modMu.RLock()
	defer p.modMu.RUnlock()
	return p.modules[name]
}

func (p *Pool) moduleFor(name string) *module {
	p.modMu.Lock()
	defer p.modMu.Unlock()
	m := p.modules[name]
	if m == nil {
		m = newModule(name, p.required[name])
		p.modules[name] = m
	}
	return m
}

// Modules returns the names of the modules that have generations, sorted.
func (p *Pool) Modules() []string {
	p.modMu.RLock()
	defer p.modMu.RUnlock()
	names := make([]string, 0, len(p.modules))
	for n := range p.modules {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Active returns the generation serving module (besides a canary's share).
func (p *Pool) Active(module string) (Generation, bool) {
	m := p.lookup(module)
	if m == nil {
		return Generation{}, false
	}
	r := m.route.Load()
	if r.active == nil {
		return Generation{}, false
	}
	return r.active.info, true
}

// Canary returns the generation on trial for module, if any.
func (p *Pool) Canary(module string) (Generation, bool) {
	m := p.lookup(module)
	if m == nil {
		return Generation{}, false
	}
	r := m.route.Load()
	if r.canary == nil {
		return Generation{}, false
	}
	return r.canary.info, true
}

// Generations returns module's kept generations, newest first.
func (p *Pool) Generations(module string) []GenerationStatus {
	m := p.lookup(module)
	if m == nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]GenerationStatus, 0, len(m.gens))
	for i := len(m.gens) - 1; i >= 0; i-- {
		out = append(out, m.gens[i].status())
	}
	return out
}

// hostEnv returns what the host API of a VM of gen needs.
func (p *Pool) hostEnv(gen *generation) hostEnv {
	return hostEnv{
		log:    p.log.With("module", gen.info.Module, "gen", gen.info.Number, "hash", short(gen.info.Hash), "source", "lua"),
		config: p.configValue,
	}
}
