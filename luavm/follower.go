package luavm

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/gamemesh/gamemesh"
)

// DefaultReread is how often a Follower re-reads the active hashes even
// without a change notification (notifications can be lost).
const DefaultReread = 5 * time.Second

// BundleReader is what a Follower needs of a gamemesh.Store.
type BundleReader interface {
	Get(ctx context.Context, key string) (gamemesh.Item, error)
}

// FollowerOptions configure a Follower.
type FollowerOptions struct {
	// Modules to follow (their keys ConfigKey(module)).
	Modules []string
	// Reread is the re-read period (default DefaultReread).
	Reread time.Duration
	// Logger receives the follower's logs; nil discards them.
	Logger *slog.Logger
}

// Follower makes a host's Pool converge on the cluster's active bundles: it
// subscribes to the modules' configuration keys (and re-reads them every
// Reread, since notifications can be lost) and, when a key names a hash the
// pool does not run, it adopts it: a kept generation is re-activated at once
// (a rollback); a new one is fetched from the store, its hash verified, and
// patched in through the pool's checks and canary. A hash that fails the
// checks, or whose canary this host rolled back, is not retried until the key
// changes: the host keeps serving what it has and logs the divergence.
type Follower struct {
	pool    *Pool
	store   BundleReader
	config  gamemesh.ConfigSource
	modules []string
	reread  time.Duration
	log     *slog.Logger

	kick   chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup

	syncMu   sync.Mutex
	rejected map[string]string // module -> hash refused on this host
}

// NewFollower returns a stopped Follower.
func NewFollower(pool *Pool, store BundleReader, config gamemesh.ConfigSource, opts FollowerOptions) (*Follower, error) {
	if pool == nil || store == nil || config == nil {
		return nil, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "follower needs a pool, a store and a config source")
	}
	for _, m := range opts.Modules {
		if !gamemesh.ValidKeyPart(m) {
			return nil, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "bad script module name %q", m)
		}
	}
	reread := opts.Reread
	if reread <= 0 {
		reread = DefaultReread
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Follower{
		pool: pool, store: store, config: config, modules: append([]string(nil), opts.Modules...), reread: reread,
		log: log.With("component", "luavm.follower"), kick: make(chan struct{}, 1), rejected: map[string]string{},
	}, nil
}

// Start subscribes to the keys, syncs once (so a host that starts after a
// push comes up on the pushed generation) and then follows changes until
// Close. The first sync's error is returned, but the follower keeps trying.
func (f *Follower) Start(ctx context.Context) error {
	runCtx, cancel := context.WithCancel(context.Background())
	keys := make([]string, len(f.modules))
	for i, m := range f.modules {
		keys[i] = ConfigKey(m)
	}
	if err := f.config.Subscribe(runCtx, keys, func(map[string]gamemesh.ConfigItem) { f.poke() }); err != nil {
		cancel()
		return err
	}
	f.cancel = cancel
	err := f.Sync(ctx)
	f.wg.Go(func() { f.loop(runCtx) })
	return err
}

// Close stops following.
func (f *Follower) Close() error {
	if f.cancel != nil {
		f.cancel()
	}
	f.wg.Wait()
	return nil
}

func (f *Follower) poke() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

func (f *Follower) loop(ctx context.Context) {
	t := time.NewTicker(f.reread)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.kick:
		case <-t.C:
		}
		if err := f.Sync(ctx); err != nil && ctx.Err() == nil {
			f.log.Warn("lua cluster sync failed; will retry", "err", err)
		}
	}
}

// Sync reconciles every followed module once.
func (f *Follower) Sync(ctx context.Context) error {
	f.syncMu.Lock()
	defer f.syncMu.Unlock()
	keys := make([]string, len(f.modules))
	for i, m := range f.modules {
		keys[i] = ConfigKey(m)
	}
	items, err := f.config.Get(ctx, keys)
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range f.modules {
		if err := f.syncModule(ctx, m, items[ConfigKey(m)].Value); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (f *Follower) syncModule(ctx context.Context, module, hash string) error {
	if hash == "" {
		return nil
	}
	if a, ok := f.pool.Active(module); ok && a.Hash == hash {
		delete(f.rejected, module)
		return nil
	}
	if c, ok := f.pool.Canary(module); ok && c.Hash == hash {
		return nil
	}
	if f.rejected[module] == hash {
		return nil
	}
	for _, st := range f.pool.Generations(module) {
		if st.Hash != hash {
			continue
		}
		if st.CanaryFailed {
			f.reject(module, hash, "its canary was rolled back on this host: "+st.Reason)
			return nil
		}
		_, err := f.pool.Rollback(module, st.Number, "cluster")
		return err
	}
	it, err := f.store.Get(ctx, bundleKey(module, hash))
	if err != nil {
		return err // missing or unavailable: try again later
	}
	var doc bundleDoc
	if err := json.Unmarshal(it.Value, &doc); err != nil {
		f.reject(module, hash, "stored bundle is corrupt: "+err.Error())
		return nil
	}
	b, err := NewBundle(module, doc.Files)
	if err != nil {
		f.reject(module, hash, "stored bundle does not build: "+errText(err))
		return nil
	}
	if b.hash != hash || doc.Module != module {
		f.reject(module, hash, "stored bundle does not match its key (hash "+short(b.hash)+")")
		return nil
	}
	gen, err := f.pool.Patch(ctx, b, PatchOptions{By: doc.By, Source: "cluster:" + doc.Source, Number: doc.Number, CreatedAt: doc.CreatedAt})
	if err != nil {
		if gamemesh.CodeOf(err) == gamemesh.CodeInvalidArgument {
			f.reject(module, hash, errText(err))
			return nil
		}
		return err
	}
	f.log.Info("lua cluster bundle adopted", "module", module, "gen", gen.Number, "hash", short(hash))
	return nil
}

func (f *Follower) reject(module, hash, why string) {
	f.rejected[module] = hash
	f.log.Error("lua cluster bundle refused on this host; it keeps serving its current generation",
		"module", module, "hash", short(hash), "reason", why)
}
