package functionstest

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/gamemesh/gamemesh"
)

type memEntry struct {
	val  []byte
	etag string
	exp  time.Time
}

// MemStore is a gamemesh.Store in a map: create-only on an empty ETag,
// compare-and-set otherwise, last-write-wins with Unconditional, and TTL
// against its clock. It is safe for concurrent use.
type MemStore struct {
	mu   sync.Mutex
	data map[string]memEntry
	seq  int64
	now  func() time.Time
}

// NewMemStore returns an empty MemStore whose TTLs run on now (nil:
// time.Now).
func NewMemStore(now func() time.Time) *MemStore {
	if now == nil {
		now = time.Now
	}
	return &MemStore{data: make(map[string]memEntry), now: now}
}

// live returns key's entry unless it is missing or expired; an expired entry
// is dropped. The caller holds s.mu.
func (s *MemStore) live(key string) (memEntry, bool) {
	e, ok := s.data[key]
	if ok && !e.exp.IsZero() && !s.now().Before(e.exp) {
		delete(s.data, key)
		return memEntry{}, false
	}
	return e, ok
}

// Get returns key's value and ETag, or a NOT_FOUND error.
func (s *MemStore) Get(ctx context.Context, key string) (gamemesh.Item, error) {
	if err := ctx.Err(); err != nil {
		return gamemesh.Item{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.live(key)
	if !ok {
		return gamemesh.Item{}, gamemesh.Errorf(gamemesh.CodeNotFound, "no key %s", key)
	}
	return gamemesh.Item{Value: append([]byte(nil), e.val...), ETag: e.etag}, nil
}

// Set writes key under opts: CONFLICT when an empty ETag meets an existing
// key or a non-empty ETag is stale; opts.Unconditional skips the check.
func (s *MemStore) Set(ctx context.Context, key string, value []byte, opts gamemesh.SetOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.live(key)
	switch {
	case opts.Unconditional:
	case opts.ETag == "" && ok:
		return gamemesh.Errorf(gamemesh.CodeConflict, "key %s exists", key)
	case opts.ETag != "" && (!ok || e.etag != opts.ETag):
		return gamemesh.Errorf(gamemesh.CodeConflict, "etag mismatch on %s", key)
	}
	s.seq++
	ne := memEntry{val: append([]byte(nil), value...), etag: strconv.FormatInt(s.seq, 10)}
	if opts.TTL > 0 {
		ne.exp = s.now().Add(opts.TTL)
	}
	s.data[key] = ne
	return nil
}

// Delete removes key; a non-empty etag must be current (else CONFLICT). A
// missing key is not an error.
func (s *MemStore) Delete(ctx context.Context, key string, etag string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.live(key)
	if !ok {
		return nil
	}
	if etag != "" && e.etag != etag {
		return gamemesh.Errorf(gamemesh.CodeConflict, "etag mismatch on %s", key)
	}
	delete(s.data, key)
	return nil
}

// Snapshot returns every stored key with its value (expired keys included
// until they are next touched), to check that nothing changed.
func (s *MemStore) Snapshot() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.data))
	for k, e := range s.data {
		out[k] = string(e.val)
	}
	return out
}
