package meshtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
)

// TestStore runs the Store conformance cases. newStore is called once per
// subtest and returns a Store; it may return the same shared store every time.
func TestStore(t *testing.T, newStore func(t *testing.T) gamemesh.Store) {
	t.Run("GetMissing", func(t *testing.T) {
		s, ctx := newStore(t), testContext(t)
		_, err := s.Get(ctx, prefix()+"-missing")
		if !errors.Is(err, gamemesh.ErrNotFound) {
			t.Fatalf("Get of a missing key: err = %v, want NOT_FOUND", err)
		}
	})

	t.Run("CreateOnly", func(t *testing.T) {
		s, ctx := newStore(t), testContext(t)
		key := prefix() + "-create"
		if err := s.Set(ctx, key, []byte("first"), gamemesh.SetOptions{}); err != nil {
			t.Fatalf("create-only Set of a new key: %v", err)
		}
		it := mustGet(t, s, key, "first")
		if it.ETag == "" {
			t.Fatal("Get returned an empty ETag")
		}
		err := s.Set(ctx, key, []byte("second"), gamemesh.SetOptions{})
		if !errors.Is(err, gamemesh.ErrConflict) {
			t.Fatalf("second create-only Set: err = %v, want CONFLICT", err)
		}
		if after := mustGet(t, s, key, "first"); after.ETag != it.ETag {
			t.Fatalf("ETag changed by a refused write: %q -> %q", it.ETag, after.ETag)
		}
	})

	t.Run("UpdateWithETag", func(t *testing.T) {
		s, ctx := newStore(t), testContext(t)
		key := prefix() + "-update"
		mustSet(t, s, key, "v1", gamemesh.SetOptions{})
		v1 := mustGet(t, s, key, "v1")
		if err := s.Set(ctx, key, []byte("v2"), gamemesh.SetOptions{ETag: v1.ETag}); err != nil {
			t.Fatalf("Set with the current ETag: %v", err)
		}
		v2 := mustGet(t, s, key, "v2")
		if v2.ETag == v1.ETag {
			t.Fatalf("ETag %q did not change on update", v2.ETag)
		}
		// v1.ETag is now stale.
		err := s.Set(ctx, key, []byte("v3"), gamemesh.SetOptions{ETag: v1.ETag})
		if !errors.Is(err, gamemesh.ErrConflict) {
			t.Fatalf("Set with a stale ETag: err = %v, want CONFLICT", err)
		}
		mustGet(t, s, key, "v2")
	})

	t.Run("ETagOnMissingKey", func(t *testing.T) {
		s, ctx := newStore(t), testContext(t)
		key := prefix() + "-ghost"
		mustSet(t, s, key, "x", gamemesh.SetOptions{})
		it := mustGet(t, s, key, "x")
		if err := s.Delete(ctx, key, ""); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		err := s.Set(ctx, key, []byte("y"), gamemesh.SetOptions{ETag: it.ETag})
		if !errors.Is(err, gamemesh.ErrConflict) {
			t.Fatalf("Set with an ETag on a deleted key: err = %v, want CONFLICT", err)
		}
		if _, err := s.Get(ctx, key); !errors.Is(err, gamemesh.ErrNotFound) {
			t.Fatalf("a refused write created the key: Get err = %v", err)
		}
	})

	t.Run("ConcurrentIncrements", func(t *testing.T) {
		testConcurrentIncrements(t, newStore(t))
	})

	t.Run("ConcurrentCreateOnlyOneWins", func(t *testing.T) {
		s, ctx := newStore(t), testContext(t)
		key := prefix() + "-race"
		const n = 10
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				errs[i] = s.Set(ctx, key, []byte(strconv.Itoa(i)), gamemesh.SetOptions{})
			})
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("writers %d and %d both won a create-only race", winner, i)
			case err == nil:
				winner = i
			case !errors.Is(err, gamemesh.ErrConflict):
				t.Fatalf("writer %d: err = %v, want nil or CONFLICT", i, err)
			}
		}
		if winner < 0 {
			t.Fatal("no writer won a create-only race")
		}
		mustGet(t, s, key, strconv.Itoa(winner))
	})

	t.Run("Unconditional", func(t *testing.T) {
		s, ctx := newStore(t), testContext(t)
		key := prefix() + "-lww"
		mustSet(t, s, key, "a", gamemesh.SetOptions{Unconditional: true}) // creates
		a := mustGet(t, s, key, "a")
		mustSet(t, s, key, "b", gamemesh.SetOptions{Unconditional: true}) // overwrites
		b := mustGet(t, s, key, "b")
		if b.ETag == a.ETag {
			t.Fatalf("ETag %q did not change on an unconditional overwrite", b.ETag)
		}
		if err := s.Set(ctx, key, []byte("c"), gamemesh.SetOptions{ETag: a.ETag}); !errors.Is(err, gamemesh.ErrConflict) {
			t.Fatalf("ETag from before an unconditional overwrite: err = %v, want CONFLICT", err)
		}
		mustSet(t, s, key, "d", gamemesh.SetOptions{ETag: b.ETag})
		mustGet(t, s, key, "d")
	})

	t.Run("TTLExpires", func(t *testing.T) {
		t.Parallel()
		s, ctx := newStore(t), testContext(t)
		key := prefix() + "-ttl"
		mustSet(t, s, key, "short", gamemesh.SetOptions{TTL: time.Second})
		start := time.Now()
		mustGet(t, s, key, "short")
		// Backends keep TTLs with a 1-second granularity: allow up to 4 s.
		for {
			_, err := s.Get(ctx, key)
			if errors.Is(err, gamemesh.ErrNotFound) {
				break
			}
			if err != nil {
				t.Fatalf("Get while waiting for expiry: %v", err)
			}
			if time.Since(start) > 4*time.Second {
				t.Fatal("key with TTL 1s still readable after 4s")
			}
			time.Sleep(100 * time.Millisecond)
		}
		// An expired key is missing: create-only works again.
		mustSet(t, s, key, "again", gamemesh.SetOptions{})
		mustGet(t, s, key, "again")
	})

	t.Run("TTLClearedByLaterWrite", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		key := prefix() + "-ttl-cleared"
		mustSet(t, s, key, "short", gamemesh.SetOptions{TTL: time.Second})
		it := mustGet(t, s, key, "short")
		mustSet(t, s, key, "forever", gamemesh.SetOptions{ETag: it.ETag})
		time.Sleep(2 * time.Second) // twice the TTL: expiry is due at ~1 s on any backend
		mustGet(t, s, key, "forever")
	})

	t.Run("Delete", func(t *testing.T) {
		s, ctx := newStore(t), testContext(t)
		key := prefix() + "-del"
		mustSet(t, s, key, "v", gamemesh.SetOptions{})
		it := mustGet(t, s, key, "v")
		mustSet(t, s, key, "w", gamemesh.SetOptions{ETag: it.ETag})
		if err := s.Delete(ctx, key, it.ETag); !errors.Is(err, gamemesh.ErrConflict) {
			t.Fatalf("Delete with a stale ETag: err = %v, want CONFLICT", err)
		}
		cur := mustGet(t, s, key, "w")
		if err := s.Delete(ctx, key, cur.ETag); err != nil {
			t.Fatalf("Delete with the current ETag: %v", err)
		}
		if _, err := s.Get(ctx, key); !errors.Is(err, gamemesh.ErrNotFound) {
			t.Fatalf("Get after Delete: err = %v, want NOT_FOUND", err)
		}
		if err := s.Delete(ctx, key, ""); err != nil {
			t.Fatalf("Delete of a missing key: %v", err)
		}
		mustSet(t, s, key, "x", gamemesh.SetOptions{})
		if err := s.Delete(ctx, key, ""); err != nil {
			t.Fatalf("unconditional Delete: %v", err)
		}
		if _, err := s.Get(ctx, key); !errors.Is(err, gamemesh.ErrNotFound) {
			t.Fatalf("Get after unconditional Delete: err = %v, want NOT_FOUND", err)
		}
	})

	t.Run("BinaryValues", func(t *testing.T) {
		s, ctx := newStore(t), testContext(t)
		key := prefix() + "-bin"
		want := make([]byte, 256<<10)
		if _, err := rand.Read(want); err != nil {
			t.Fatal(err)
		}
		copy(want, []byte{0, 0xff, 0, '|', '|', 0x80, '"', '\\', 0})
		if err := s.Set(ctx, key, want, gamemesh.SetOptions{}); err != nil {
			t.Fatalf("Set of 256 KiB: %v", err)
		}
		got, err := s.Get(ctx, key)
		if err != nil {
			t.Fatalf("Get of 256 KiB: %v", err)
		}
		if !bytes.Equal(got.Value, want) {
			t.Fatalf("value not byte-exact: got %d bytes, want %d", len(got.Value), len(want))
		}
	})
}

// testConcurrentIncrements runs 20 goroutines that each add 1 ten times to a
// counter with read-modify-write guarded by the ETag, retrying on conflict.
func testConcurrentIncrements(t *testing.T, s gamemesh.Store) {
	ctx := testContext(t)
	key := prefix() + "-counter"
	mustSet(t, s, key, "0", gamemesh.SetOptions{})
	const workers, increments = 20, 10
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range increments {
				if err := increment(ctx, s, key); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	mustGet(t, s, key, strconv.Itoa(workers*increments))
}

func increment(ctx context.Context, s gamemesh.Store, key string) error {
	for attempt := 0; ; attempt++ {
		if attempt > 10000 {
			return errors.New("increment: too many conflicts")
		}
		it, err := s.Get(ctx, key)
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(string(it.Value))
		if err != nil {
			return err
		}
		err = s.Set(ctx, key, []byte(strconv.Itoa(n+1)), gamemesh.SetOptions{ETag: it.ETag})
		if err == nil {
			return nil
		}
		if !errors.Is(err, gamemesh.ErrConflict) {
			return err
		}
	}
}

func mustSet(t *testing.T, s gamemesh.Store, key, value string, opts gamemesh.SetOptions) {
	t.Helper()
	if err := s.Set(t.Context(), key, []byte(value), opts); err != nil {
		t.Fatalf("Set(%q, %+v): %v", value, opts, err)
	}
}

func mustGet(t *testing.T, s gamemesh.Store, key, want string) gamemesh.Item {
	t.Helper()
	it, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if string(it.Value) != want {
		t.Fatalf("Get = %q, want %q", it.Value, want)
	}
	return it
}
