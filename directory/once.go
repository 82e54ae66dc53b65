package directory

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gamemesh/gamemesh"
)

// Once records single-use markers (login ticket ids, request ids) in a Store
// with create-only writes, so a marker survives restarts and is shared by
// every process on the same store.
type Once struct {
	Store  gamemesh.Store
	Prefix string
}

// Use marks id as used until the given time. It returns an error matching
// gamemesh.ErrConflict if id was already used, and an UNAVAILABLE error if the
// store cannot say.
func (o Once) Use(ctx context.Context, id string, until time.Time) error {
	ttl := time.Until(until)
	if ttl < time.Second {
		ttl = time.Second
	}
	err := o.Store.Set(ctx, o.Prefix+id, []byte{1}, gamemesh.SetOptions{TTL: ttl})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gamemesh.ErrConflict):
		return gamemesh.Wrap(gamemesh.CodeConflict, err, "already used")
	default:
		return gamemesh.Wrap(gamemesh.CodeUnavailable, fmt.Errorf("recording %s: %w", id, err), "cannot record single use")
	}
}
