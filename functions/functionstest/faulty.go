package functionstest

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gamemesh/gamemesh"
)

// ErrDown is what a FaultyStore answers while down, crashed, or when it
// loses an acknowledgement.
var ErrDown = gamemesh.Errorf(gamemesh.CodeUnavailable, "store down (test)")

// ErrWriteFailed is what a FaultyStore answers to a write refused by
// FailWrites.
var ErrWriteFailed = gamemesh.Errorf(gamemesh.CodeUnavailable, "store write failed (test)")

// FaultyStore wraps a Store and fails on demand. Its zero value with Store
// set passes every call through. Faults:
//   - SetDown(true): every call is UNAVAILABLE (ErrDown);
//   - LoseAcks(n): the next n successful Sets are applied but answered
//     ErrDown (a lost response);
//   - FailWrites(n): the next n Sets are refused with ErrWriteFailed and not
//     applied;
//   - CrashAfter(prefix, n): n more successful writes to keys with prefix go
//     through, then every write and delete (any key) fails with ErrDown, as a
//     dead process would, until Heal.
type FaultyStore struct {
	gamemesh.Store

	down       atomic.Bool
	lostAcks   atomic.Int32
	failWrites atomic.Int32
	planned    atomic.Bool // a crash plan is set: writes go through mu

	mu        sync.Mutex
	prefix    string
	remaining int
	armed     bool
	crashed   bool
}

// SetDown makes every call fail (true) or pass (false).
func (f *FaultyStore) SetDown(down bool) { f.down.Store(down) }

// LoseAcks makes the next n successful Sets answer ErrDown.
func (f *FaultyStore) LoseAcks(n int) { f.lostAcks.Store(int32(n)) }

// FailWrites makes the next n Sets fail with ErrWriteFailed, unapplied.
func (f *FaultyStore) FailWrites(n int) { f.failWrites.Store(int32(n)) }

// CrashAfter lets n more successful writes to keys with prefix through, then
// fails every write and delete until Heal. With n == 0 it crashes at once.
func (f *FaultyStore) CrashAfter(prefix string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prefix, f.remaining, f.armed, f.crashed = prefix, n, true, n == 0
	f.planned.Store(true)
}

// Heal clears a crash plan and its crash.
func (f *FaultyStore) Heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armed, f.crashed = false, false
	f.planned.Store(false)
}

// Crashed reports whether a crash plan has crashed the store.
func (f *FaultyStore) Crashed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.crashed
}

// take consumes one unit of a fault counter, reporting whether one was left.
func take(c *atomic.Int32) bool {
	for {
		n := c.Load()
		if n <= 0 {
			return false
		}
		if c.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// write applies a write to key through do, unless the store is down or
// crashed, and counts it against a crash plan.
func (f *FaultyStore) write(key string, do func() error) error {
	if f.down.Load() {
		return ErrDown
	}
	if !f.planned.Load() {
		return do() // no crash plan: concurrent writes stay concurrent
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.crashed {
		return ErrDown
	}
	err := do()
	if err == nil && f.armed && strings.HasPrefix(key, f.prefix) {
		if f.remaining--; f.remaining <= 0 {
			f.crashed = true
		}
	}
	return err
}

// Get reads through, unless the store is down.
func (f *FaultyStore) Get(ctx context.Context, key string) (gamemesh.Item, error) {
	if f.down.Load() {
		return gamemesh.Item{}, ErrDown
	}
	return f.Store.Get(ctx, key)
}

// Set writes through, subject to the faults set.
func (f *FaultyStore) Set(ctx context.Context, key string, value []byte, opts gamemesh.SetOptions) error {
	return f.write(key, func() error {
		if take(&f.failWrites) {
			return ErrWriteFailed
		}
		err := f.Store.Set(ctx, key, value, opts)
		if err == nil && take(&f.lostAcks) {
			return ErrDown
		}
		return err
	})
}

// Delete deletes through, unless the store is down or crashed.
func (f *FaultyStore) Delete(ctx context.Context, key string, etag string) error {
	return f.write(key, func() error { return f.Store.Delete(ctx, key, etag) })
}
