package dapr

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"

	daprc "github.com/dapr/go-sdk/client"
	"google.golang.org/grpc/codes"

	"github.com/gamemesh/gamemesh"
)

// createOnlyETag is the ETag sent for a create-only write. state.redis treats
// "0" as "the key must not exist" for keys written with first-write
// concurrency (all keys this Store writes), and, being an ETag, makes a refusal
// come back as Aborted instead of Internal.
const createOnlyETag = "0"

// resurrectedETag is the version state.redis gives a key its write created.
const resurrectedETag = "1"

// ttlMetadataKey is the state metadata key for per-key TTLs.
const ttlMetadataKey = "ttlInSeconds"

// unconditionalAttempts bounds the read-then-CAS loop of an Unconditional write.
const unconditionalAttempts = 8

// Store is a gamemesh.Store over the Dapr state API (built for state.redis).
type Store struct {
	c    *Client
	name string
}

var _ gamemesh.Store = (*Store)(nil)

// NewStore returns a Store over the state store component named storeName.
func NewStore(c *Client, storeName string) *Store {
	return &Store{c: c, name: storeName}
}

// Get returns the value and ETag of key, or NOT_FOUND.
func (s *Store) Get(ctx context.Context, key string) (gamemesh.Item, error) {
	if key == "" {
		return gamemesh.Item{}, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "empty key")
	}
	it, err := s.c.sdk.GetState(ctx, s.name, key, nil)
	if err != nil {
		return gamemesh.Item{}, sidecarError(ctx, "state get", err)
	}
	if it == nil || (it.Etag == "" && len(it.Value) == 0) {
		return gamemesh.Item{}, gamemesh.Errorf(gamemesh.CodeNotFound, "key %s not found", key)
	}
	return gamemesh.Item{Value: it.Value, ETag: it.Etag}, nil
}

// Set writes value under key, guarded by opts (see gamemesh.SetOptions).
func (s *Store) Set(ctx context.Context, key string, value []byte, opts gamemesh.SetOptions) error {
	switch {
	case key == "":
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "empty key")
	case opts.Unconditional && opts.ETag != "":
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "an unconditional write takes no ETag")
	case opts.TTL < 0:
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "negative TTL")
	}
	meta := map[string]string{ttlMetadataKey: ttlSeconds(opts.TTL)}
	if opts.Unconditional {
		return s.setUnconditional(ctx, key, value, meta)
	}
	if !validETag(opts.ETag) {
		// Not an ETag this store handed out: the guard cannot hold.
		return gamemesh.Errorf(gamemesh.CodeConflict, "key %s changed", key)
	}
	if err := s.setGuarded(ctx, key, value, opts.ETag, meta); err != nil {
		return err
	}
	if opts.ETag != "" {
		return s.checkNotResurrected(ctx, key, value)
	}
	return nil
}

// checkNotResurrected undoes a guarded write that created its key. state.redis
// applies a write with any ETag to a missing key (its Lua script accepts a
// key without version), so a writer holding the ETag of a key deleted or
// expired since would bring it back. Such a write leaves version 1, which a
// real compare-and-set (from version >= 1) never produces: the key is deleted
// again if it still holds version 1 and our bytes, and the write reports
// CONFLICT. Costs one read per successful ETag write.
func (s *Store) checkNotResurrected(ctx context.Context, key string, value []byte) error {
	cur, err := s.Get(ctx, key)
	switch {
	case gamemesh.CodeOf(err) == gamemesh.CodeNotFound:
		return nil // deleted since by someone else: our write was a real update
	case err != nil:
		return gamemesh.Wrap(gamemesh.CodeUnavailable, err, "state set: cannot confirm the write")
	case cur.ETag != resurrectedETag || !bytes.Equal(cur.Value, value):
		return nil
	}
	derr := s.c.sdk.DeleteStateWithETag(ctx, s.name, key, &daprc.ETag{Value: resurrectedETag}, nil,
		&daprc.StateOptions{Concurrency: daprc.StateConcurrencyFirstWrite, Consistency: daprc.StateConsistencyStrong})
	if derr != nil && grpcCode(derr) != codes.Aborted {
		return gamemesh.Wrap(gamemesh.CodeUnavailable, fmt.Errorf("dapr state set: undoing the re-creation of %s: %w", key, derr), "state set: unavailable")
	}
	return gamemesh.Errorf(gamemesh.CodeConflict, "key %s changed", key)
}

// setGuarded writes with ETag etag ("" = create only) and resolves a refusal
// by re-reading the key.
func (s *Store) setGuarded(ctx context.Context, key string, value []byte, etag string, meta map[string]string) error {
	sent := etag
	if sent == "" {
		sent = createOnlyETag
	}
	err := s.c.sdk.SaveStateWithETag(ctx, s.name, key, value, sent, meta,
		daprc.WithConcurrency(daprc.StateConcurrencyFirstWrite), daprc.WithConsistency(daprc.StateConsistencyStrong))
	if err == nil {
		return nil
	}
	if grpcCode(err) != codes.Aborted {
		return sidecarError(ctx, "state set", err)
	}
	return s.resolveRefusal(ctx, key, etag, "state set", err)
}

// resolveRefusal decides what an ETag mismatch from the sidecar means. With an
// ETag, state.redis reports every Redis error as a mismatch, outages included,
// so the key is re-read: CONFLICT when it really differs from what the guard
// expected (expected "" = absent), UNAVAILABLE when the guard would have held
// or the key cannot be read.
func (s *Store) resolveRefusal(ctx context.Context, key, expected, op string, refusal error) error {
	cur, err := s.Get(ctx, key)
	switch {
	case gamemesh.CodeOf(err) == gamemesh.CodeNotFound:
		if expected == "" {
			return gamemesh.Wrap(gamemesh.CodeUnavailable, fmt.Errorf("dapr %s: refused although %s is absent: %w", op, key, refusal), op+": store refused the write")
		}
		return gamemesh.Wrap(gamemesh.CodeConflict, refusal, fmt.Sprintf("key %s changed", key))
	case err != nil:
		return gamemesh.Wrap(gamemesh.CodeUnavailable, fmt.Errorf("dapr %s: refused, and re-reading %s failed (%v): %w", op, key, err, refusal), op+": unavailable")
	case expected == "":
		return gamemesh.Wrap(gamemesh.CodeConflict, refusal, fmt.Sprintf("key %s already exists", key))
	case cur.ETag != expected:
		return gamemesh.Wrap(gamemesh.CodeConflict, refusal, fmt.Sprintf("key %s changed", key))
	}
	return gamemesh.Wrap(gamemesh.CodeUnavailable, fmt.Errorf("dapr %s: refused although the ETag of %s still matches: %w", op, key, refusal), op+": store refused the write")
}

// setUnconditional is last-write-wins as a read-then-CAS loop (state.redis
// refuses a last-write request on a key written with first-write concurrency).
func (s *Store) setUnconditional(ctx context.Context, key string, value []byte, meta map[string]string) error {
	var last error
	for range unconditionalAttempts {
		etag := ""
		cur, err := s.Get(ctx, key)
		switch {
		case err == nil:
			etag = cur.ETag
		case gamemesh.CodeOf(err) != gamemesh.CodeNotFound:
			return err
		}
		last = s.setGuarded(ctx, key, value, etag, meta)
		if gamemesh.CodeOf(last) != gamemesh.CodeConflict {
			return last
		}
	}
	return gamemesh.Wrap(gamemesh.CodeUnavailable, last, fmt.Sprintf("key %s: too many concurrent writers", key))
}

// Delete removes key; a non-empty etag must match. Deleting a missing key is
// not an error.
func (s *Store) Delete(ctx context.Context, key string, etag string) error {
	if key == "" {
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "empty key")
	}
	if etag == "" {
		if err := s.c.sdk.DeleteState(ctx, s.name, key, nil); err != nil {
			return sidecarError(ctx, "state delete", err)
		}
		return nil
	}
	if !validETag(etag) {
		return gamemesh.Errorf(gamemesh.CodeConflict, "key %s changed", key)
	}
	err := s.c.sdk.DeleteStateWithETag(ctx, s.name, key, &daprc.ETag{Value: etag}, nil,
		&daprc.StateOptions{Concurrency: daprc.StateConcurrencyFirstWrite, Consistency: daprc.StateConsistencyStrong})
	if err == nil {
		return nil
	}
	if grpcCode(err) != codes.Aborted {
		return sidecarError(ctx, "state delete", err)
	}
	if _, gerr := s.Get(ctx, key); gamemesh.CodeOf(gerr) == gamemesh.CodeNotFound {
		return nil // gone (deleted by someone else): deleting a missing key succeeds
	}
	return s.resolveRefusal(ctx, key, etag, "state delete", err)
}

// validETag reports whether etag can be an ETag of state.redis (a version number).
func validETag(etag string) bool {
	if etag == "" {
		return true
	}
	n, err := strconv.ParseUint(etag, 10, 63)
	return err == nil && n > 0
}

// ttlSeconds renders a TTL for ttlInSeconds: whole seconds rounded up, and -1
// (no expiry: PERSIST) for none, so that a write without TTL clears the TTL
// of an earlier write.
func ttlSeconds(ttl time.Duration) string {
	if ttl <= 0 {
		return "-1"
	}
	return strconv.FormatInt(int64((ttl+time.Second-1)/time.Second), 10)
}
