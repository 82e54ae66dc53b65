package directory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gamemesh/gamemesh"
)

// OnceMargin is added to a marker's lifetime so that clock skew between the
// process that checks a ticket's expiry and the one that records its use
// cannot reopen a replay window.
const OnceMargin = time.Minute

// Once records single-use markers (login ticket ids, request ids) in a Store
// with create-only writes, so a marker survives restarts and is shared by
// every process on the same store.
type Once struct {
	Store  gamemesh.Store
	Prefix string
}

// Use marks id as used until the given time (plus OnceMargin). It returns an
// error matching gamemesh.ErrConflict if id was already used, and an
// UNAVAILABLE error if the store cannot say.
//
// A conflict from the store is not taken at its word: some backends report an
// outage, or a retry of this very write that already succeeded, as an ETag
// conflict (PITFALLS). So each use writes a value of its own and, on
// conflict, reads the marker back: our own value means the use succeeded.
func (o Once) Use(ctx context.Context, id string, until time.Time) error {
	ttl := time.Until(until) + OnceMargin
	key := o.Prefix + id
	mine := []byte(gamemesh.NewID())
	err := o.Store.Set(ctx, key, mine, gamemesh.SetOptions{TTL: ttl})
	if err == nil {
		return nil
	}
	if !errors.Is(err, gamemesh.ErrConflict) {
		return gamemesh.Wrap(gamemesh.CodeUnavailable, fmt.Errorf("recording %s: %w", id, err), "cannot record single use")
	}
	item, gerr := o.Store.Get(ctx, key)
	switch {
	case gerr == nil && bytes.Equal(item.Value, mine):
		return nil
	case gerr == nil:
		return gamemesh.Wrap(gamemesh.CodeConflict, err, "already used")
	default:
		return gamemesh.Wrap(gamemesh.CodeUnavailable, fmt.Errorf("re-reading %s after a conflict: %w", id, gerr), "cannot record single use")
	}
}
