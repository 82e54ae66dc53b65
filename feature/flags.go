package feature

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gamemesh/gamemesh"
)

// Flags holds the switches and live settings of a process, kept up to date
// from a gamemesh.ConfigSource. Create it with New, then Start and Stop it.
// Its read methods (Enabled, Current, Int, ...) are lock-free and may be
// called at any time, also before Start (defaults) and after Stop (the last
// values).
type Flags struct {
	cfg      Config
	src      gamemesh.ConfigSource
	log      *slog.Logger
	now      func() time.Time
	m        *metrics
	defaults [numSettings]float64

	cur     atomic.Pointer[Snapshot]
	lastOK  atomic.Int64 // unix nanoseconds of the last successful read or notification
	synced  atomic.Bool  // a read has succeeded since Start
	failing atomic.Bool  // the last read failed (to log an outage once)

	// mu serializes changes of the values and guards the fields below.
	mu      sync.Mutex
	info    map[string]keyInfo             // watched config keys
	keys    []string                       // the same keys, sorted
	systems []string                       // watched system ids, sorted
	valid   map[string]gamemesh.ConfigItem // last valid item of each present key
	refused map[string]gamemesh.ConfigItem // last refused item of each key (logged once)
	seq     uint64                         // counts notifications
	touched map[string]uint64              // key → seq of the last notification carrying it
	started bool
	stopped bool
	runCtx  context.Context
	cancel  context.CancelFunc
	resub   chan struct{} // the key set changed: subscribe again
	wg      sync.WaitGroup

	watchMu  sync.Mutex
	watchers map[*watcher]struct{}
	wake     chan struct{} // a snapshot with new values was published
}

// keyInfo says what a watched config key holds: a switch of system, or the
// setting at index setting (system is "" then).
type keyInfo struct {
	system  string
	setting int
}

// New returns Flags over deps.Source on the defaults, or an error naming
// every invalid setting. It registers the metrics on deps.Metrics.
func New(cfg Config, deps Deps) (*Flags, error) {
	cfg = cfg.withDefaults()
	defaults, err := cfg.validate()
	if deps.Source == nil {
		err = errors.Join(err, errors.New("feature: deps: Source is required"))
	}
	if err != nil {
		return nil, err
	}
	deps = deps.withDefaults()
	f := &Flags{
		cfg:      cfg,
		src:      deps.Source,
		log:      deps.Logger.With("component", "feature"),
		now:      deps.Now,
		defaults: defaults,
		info:     make(map[string]keyInfo),
		valid:    make(map[string]gamemesh.ConfigItem),
		refused:  make(map[string]gamemesh.ConfigItem),
		touched:  make(map[string]uint64),
		resub:    make(chan struct{}, 1),
		watchers: make(map[*watcher]struct{}),
		wake:     make(chan struct{}, 1),
	}
	for i := range table {
		f.info[SettingPrefix+table[i].Name] = keyInfo{setting: i}
	}
	f.addSystems(append(DefaultSystems(), cfg.Systems...))
	f.lastOK.Store(f.now().UnixNano())
	if f.m, err = newMetrics(f, deps.Metrics); err != nil {
		return nil, err
	}
	f.publish()
	return f, nil
}

// addSystems watches the switches of ids; f.mu must be held (or f not yet
// shared). It reports whether any id was new.
func (f *Flags) addSystems(ids []string) bool {
	added := false
	for _, id := range ids {
		key := SwitchPrefix + id
		if _, ok := f.info[key]; ok {
			continue
		}
		f.info[key] = keyInfo{system: id, setting: -1}
		f.systems = append(f.systems, id)
		added = true
	}
	if added {
		slices.Sort(f.systems)
		keys := make([]string, 0, len(f.info)) // a new slice: readers may hold the old one
		for k := range f.info {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		f.keys = keys
	}
	return added
}

// AddSystems watches the switches of more systems (Lua modules found at run
// time): their current values are read at once if Flags is running. An
// invalid id is an INVALID_ARGUMENT error and nothing is added.
func (f *Flags) AddSystems(ids ...string) error {
	for _, id := range ids {
		if _, err := SwitchKey(id); err != nil {
			return err
		}
	}
	f.mu.Lock()
	added := f.addSystems(ids)
	if added {
		f.publish()
	}
	running := f.started && !f.stopped
	f.mu.Unlock()
	if added && running {
		select {
		case f.resub <- struct{}{}:
		default:
		}
	}
	return nil
}

// Start subscribes to the watched keys, then reads them, and starts the
// goroutines that keep the values up to date. ctx bounds the start only.
// If the first read fails, Start logs it and returns nil, running on the
// defaults until the store answers, unless Config.RequireInitialRead is set.
func (f *Flags) Start(ctx context.Context) error {
	f.mu.Lock()
	if f.started {
		f.mu.Unlock()
		return errors.New("feature: already started")
	}
	f.started = true
	f.runCtx, f.cancel = context.WithCancel(context.WithoutCancel(ctx))
	f.mu.Unlock()

	f.lastOK.Store(f.now().UnixNano())
	sub, err := f.subscribe()
	if err != nil {
		f.log.Warn("cannot subscribe to the configuration store; retrying", "err", err)
	}
	if _, err := f.read(ctx, false); err != nil {
		if f.cfg.RequireInitialRead {
			f.mu.Lock()
			f.stopped = true
			f.mu.Unlock()
			f.cancel()
			return fmt.Errorf("feature: first read of the configuration store: %w", err)
		}
		f.log.Error("configuration store unreadable at start: running on the defaults until it answers", "err", err)
	}
	f.wg.Go(func() { f.run(sub) })
	f.wg.Go(f.notifyLoop)
	f.log.Info("feature switches started", "keys", len(f.Keys()), "synced", f.synced.Load())
	return nil
}

// Stop ends the subscription and the goroutines of Flags and waits for them,
// or until ctx ends. The values in force stay readable. Stop before Start
// does nothing.
func (f *Flags) Stop(ctx context.Context) error {
	f.mu.Lock()
	if !f.started || f.stopped {
		f.mu.Unlock()
		return nil
	}
	f.stopped = true
	f.mu.Unlock()
	f.cancel()
	done := make(chan struct{})
	go func() {
		f.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("feature: stop: %w", ctx.Err())
	}
}

// Current returns the snapshot in force.
func (f *Flags) Current() *Snapshot { return f.cur.Load() }

// Enabled reports whether system is switched on. It is the gate's check on
// every request: one atomic load and one map lookup, no lock.
func (f *Flags) Enabled(system string) bool { return f.cur.Load().Enabled(system) }

// Int returns the value in force of an integer setting.
func (f *Flags) Int(k IntSetting) int { return f.cur.Load().Int(k) }

// Float returns the value in force of a decimal setting.
func (f *Flags) Float(k FloatSetting) float64 { return f.cur.Load().Float(k) }

// Duration returns the value in force of a duration setting.
func (f *Flags) Duration(k DurationSetting) time.Duration { return f.cur.Load().Duration(k) }

// Keys returns the watched config keys, sorted.
func (f *Flags) Keys() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.keys)
}

// Staleness is the time since the last successful read or notification
// (since Start while none has succeeded).
func (f *Flags) Staleness() time.Duration {
	return time.Duration(f.now().UnixNano() - f.lastOK.Load())
}

// Synced reports whether a read of the store has succeeded since Start.
func (f *Flags) Synced() bool { return f.synced.Load() }

func (f *Flags) markOK() { f.lastOK.Store(f.now().UnixNano()) }
