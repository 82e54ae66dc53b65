package gamemesh

import (
	"context"
	"time"
)

// Item is a stored value with the ETag that guards its next write.
type Item struct {
	Value []byte
	ETag  string
}

// SetOptions guard and shape a Store write.
type SetOptions struct {
	// ETag is the ETag the key must still have (as returned by Get) for the
	// write to apply. Empty means the key must not exist: the first write wins
	// and any later write without the current ETag fails with CONFLICT.
	ETag string
	// Unconditional writes whatever the key holds (last write wins). ETag must
	// be empty. Use it only for values no one read-modify-writes.
	Unconditional bool
	// TTL, when positive, makes the key expire that long after this write. A
	// write without TTL makes the key permanent.
	TTL time.Duration
}

// Store is a key-value store with optimistic concurrency. Keys are owned by one
// app; values are opaque bytes (protobuf in practice).
//
// Errors: Get of a missing or expired key returns an error matching
// ErrNotFound; a write whose ETag guard fails returns one matching ErrConflict
// (callers must re-read and decide: a conflict can also hide an outage in some
// backends); a backend that cannot be reached returns one matching
// ErrUnavailable.
type Store interface {
	// Get returns the value and ETag of key.
	Get(ctx context.Context, key string) (Item, error)
	// Set writes value under key, guarded by opts.
	Set(ctx context.Context, key string, value []byte, opts SetOptions) error
	// Delete removes key. A non-empty etag must match the current one; deleting
	// a missing key is not an error.
	Delete(ctx context.Context, key string, etag string) error
}
