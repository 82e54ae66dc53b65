package functions

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/gamemesh/gamemesh"
)

// DefaultMaxAttempts bounds an Update whose options leave MaxAttempts zero.
const DefaultMaxAttempts = 16

// UpdateOptions shape an Update.
type UpdateOptions struct {
	// MaxAttempts bounds the read-decide-write rounds lost to CONFLICT
	// (DefaultMaxAttempts when zero or negative).
	MaxAttempts int
	// TTL, when positive, makes every write expire that long after it.
	TTL time.Duration
	// Busy is returned when every attempt lost to a concurrent writer
	// (a CONFLICT "<What> busy, retry" when nil).
	Busy error
	// What names the data in client-facing messages, e.g. "mail" gives
	// "mail store unavailable".
	What string
}

// Write is what an UpdateFunc decided to store.
type Write struct {
	// Value is the new value of the key.
	Value []byte
	// TTL, when positive, overrides UpdateOptions.TTL for this write.
	TTL time.Duration
}

// UpdateFunc decides the next value of a key from its current one (cur is nil
// and exists false for a missing key). It returns nil to leave the key as it
// is. It may run several times, once per attempt, and must decide afresh
// each time. Its error ends the Update as is, with nothing written.
type UpdateFunc func(cur []byte, exists bool) (*Write, error)

// Update runs fn on key in an optimistic read-modify-write loop: read the
// key, let fn decide, then write create-only (ETag "") when the key was
// missing, compare-and-set on the ETag read otherwise. A CONFLICT is never
// an answer: the key is re-read and fn decides again, after a short random
// backoff, up to opts.MaxAttempts times, then opts.Busy is returned.
//
// It returns the value the key holds after the call: the one written, or the
// one read when fn wrote nothing (nil for a missing key). Store failures are
// mapped with StoreError; a context that ends during a backoff too.
func Update(ctx context.Context, store gamemesh.Store, key string, opts UpdateOptions, fn UpdateFunc) ([]byte, error) {
	attempts := opts.MaxAttempts
	if attempts <= 0 {
		attempts = DefaultMaxAttempts
	}
	for attempt := range attempts {
		if attempt > 0 {
			if err := Backoff(ctx, attempt); err != nil {
				return nil, StoreError(err, opts.What+" store busy")
			}
		}
		item, exists, err := Read(ctx, store, key, opts.What)
		if err != nil {
			return nil, err
		}
		w, err := fn(item.Value, exists)
		if err != nil {
			return nil, err
		}
		if w == nil {
			return item.Value, nil
		}
		set := gamemesh.SetOptions{ETag: item.ETag, TTL: opts.TTL}
		if w.TTL > 0 {
			set.TTL = w.TTL
		}
		err = store.Set(ctx, key, w.Value, set)
		if err == nil {
			return w.Value, nil
		}
		if !errors.Is(err, gamemesh.ErrConflict) {
			return nil, StoreError(fmt.Errorf("set %s: %w", key, err), opts.What+" store unavailable")
		}
	}
	if opts.Busy != nil {
		return nil, opts.Busy
	}
	return nil, gamemesh.Errorf(gamemesh.CodeConflict, "%s busy, retry", opts.What)
}

// Read gets key from store; exists is false (and the error nil) for a
// missing key. Other failures are mapped with StoreError, what naming the
// data as in UpdateOptions.What.
func Read(ctx context.Context, store gamemesh.Store, key, what string) (item gamemesh.Item, exists bool, err error) {
	item, err = store.Get(ctx, key)
	if errors.Is(err, gamemesh.ErrNotFound) {
		return gamemesh.Item{}, false, nil
	}
	if err != nil {
		return gamemesh.Item{}, false, StoreError(fmt.Errorf("get %s: %w", key, err), what+" store unavailable")
	}
	return item, true, nil
}

// StoreError turns a store failure into a client-facing error with message:
// a deadline stays DEADLINE_EXCEEDED, anything else is UNAVAILABLE (retry
// later). err stays the internal cause.
func StoreError(err error, message string) error {
	if gamemesh.CodeOf(err) == gamemesh.CodeDeadlineExceeded {
		return gamemesh.Wrap(gamemesh.CodeDeadlineExceeded, err, message)
	}
	return gamemesh.Wrap(gamemesh.CodeUnavailable, err, message)
}

// Backoff sleeps a short random time that grows with attempt (up to 10ms),
// to spread contending writers of one key. It returns the context's error
// if ctx ends first.
func Backoff(ctx context.Context, attempt int) error {
	span := int64(min(max(attempt, 0), 10)) * int64(time.Millisecond)
	t := time.NewTimer(time.Duration(rand.Int64N(span + 1)))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
