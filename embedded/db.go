package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/gamemesh/gamemesh"
)

// DefaultSweepInterval is how often expired keys are deleted when
// Options.SweepInterval is zero.
const DefaultSweepInterval = time.Minute

// openTimeout bounds the wait for the file lock: a second process opening the
// same file fails instead of hanging.
const openTimeout = time.Second

var (
	bucketKV        = []byte("kv")
	bucketKVTTL     = []byte("kvttl")
	bucketGroups    = []byte("groups")
	bucketQueues    = []byte("queues")
	bucketUnclaimed = []byte("unclaimed")
)

// Options configure Open.
type Options struct {
	// Logger receives the DB's logs; nil discards them.
	Logger *slog.Logger
	// SweepInterval is how often expired keys are deleted from the file; 0
	// means DefaultSweepInterval. Expired keys read as missing either way.
	SweepInterval time.Duration
}

// DB is one bbolt file holding the key-value store and the event queue. It is
// safe for concurrent use. Close stops every goroutine it started.
type DB struct {
	bolt *bolt.DB
	log  *slog.Logger

	// ctx is cancelled at Close; delivery handlers receive contexts derived
	// from it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // sweeper and delivery loops

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error

	commits groupCommit // shares commits between concurrent writers

	mu    sync.Mutex
	loops map[string][]*deliveryLoop // by topic: the running subscriptions
}

// Open opens (creating if needed) the bbolt file at path and starts the
// expiry sweeper. Subscriptions start delivering when Subscribe is called.
func Open(path string, opts Options) (*DB, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "embedded.db", "path", path)
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: openTimeout})
	if err != nil {
		return nil, gamemesh.Wrap(gamemesh.CodeUnavailable, fmt.Errorf("open %s: %w", path, err), "embedded store unavailable")
	}
	err = bdb.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketKV, bucketKVTTL, bucketGroups, bucketQueues, bucketUnclaimed} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		_ = bdb.Close()
		return nil, gamemesh.Wrap(gamemesh.CodeUnavailable, fmt.Errorf("init %s: %w", path, err), "embedded store unavailable")
	}
	ctx, cancel := context.WithCancel(context.Background())
	db := &DB{bolt: bdb, log: log, ctx: ctx, cancel: cancel, loops: make(map[string][]*deliveryLoop)}
	interval := opts.SweepInterval
	if interval <= 0 {
		interval = DefaultSweepInterval
	}
	db.wg.Go(func() { db.sweepLoop(interval) })
	return db, nil
}

// Close stops the sweeper and every delivery loop, cancelling the contexts of
// handlers in progress and waiting for them to return, then closes the file.
// Events being handled when Close is called stay queued and are delivered
// again after the next Open. Close is idempotent; after it, every operation
// fails with UNAVAILABLE.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.mu.Lock() // no delivery loop starts after this
		db.closed.Store(true)
		db.mu.Unlock()
		db.cancel()
		db.wg.Wait()
		if err := db.bolt.Close(); err != nil {
			db.closeErr = fmt.Errorf("close %s: %w", db.bolt.Path(), err)
		}
	})
	return db.closeErr
}

// errClosed is returned by every operation on a closed DB.
var errClosed = gamemesh.Errorf(gamemesh.CodeUnavailable, "embedded store is closed")

// begin checks that db is open and ctx still live before an operation.
func (db *DB) begin(ctx context.Context) error {
	if db.closed.Load() {
		return errClosed
	}
	if err := ctx.Err(); err != nil {
		return gamemesh.Wrap(gamemesh.CodeOf(err), err, gamemesh.MessageOf(err))
	}
	return nil
}

// read runs fn in a read-only transaction.
func (db *DB) read(fn func(tx *bolt.Tx) error) error {
	return mapErr(db.bolt.View(fn))
}

// mapErr turns a bbolt error into a *gamemesh.Error: *gamemesh.Error values
// pass through, a closed database and any storage failure are UNAVAILABLE
// (callers retry those later).
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var ge *gamemesh.Error
	if errors.As(err, &ge) {
		return err
	}
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return gamemesh.Wrap(gamemesh.CodeUnavailable, err, "embedded store is closed")
	}
	return gamemesh.Wrap(gamemesh.CodeUnavailable, err, "embedded store unavailable")
}
