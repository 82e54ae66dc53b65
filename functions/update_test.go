package functions_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	"github.com/gamemesh/gamemesh/functions/functionstest"
)

var errBusy = gamemesh.Errorf(gamemesh.CodeConflict, "counter busy, retry")

// incr adds one to the decimal counter under key.
func incr(ctx context.Context, s gamemesh.Store, key string, attempts int) ([]byte, error) {
	opts := functions.UpdateOptions{MaxAttempts: attempts, Busy: errBusy, What: "counter"}
	return functions.Update(ctx, s, key, opts, func(cur []byte, exists bool) (*functions.Write, error) {
		n := 0
		if exists {
			var err error
			if n, err = strconv.Atoi(string(cur)); err != nil {
				return nil, err
			}
		}
		return &functions.Write{Value: []byte(strconv.Itoa(n + 1))}, nil
	})
}

func TestUpdateConcurrentExactCount(t *testing.T) {
	ctx := functionstest.Context(t)
	s := functionstest.NewMemStore(nil)
	const writers, each = 20, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for range writers {
		wg.Go(func() {
			for range each {
				if _, err := incr(ctx, s, "n", 1000); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("update: %v", err)
	}
	if got := s.Snapshot()["n"]; got != strconv.Itoa(writers*each) {
		t.Fatalf("counter = %s, want %d", got, writers*each)
	}
}

func TestUpdateCreatesOnlyWhenMissing(t *testing.T) {
	ctx := functionstest.Context(t)
	s := functionstest.NewMemStore(nil)
	calls := 0
	got, err := functions.Update(ctx, s, "k", functions.UpdateOptions{What: "k"}, func(cur []byte, exists bool) (*functions.Write, error) {
		calls++
		if calls == 1 {
			if exists || cur != nil {
				t.Fatalf("first read: exists=%v cur=%q", exists, cur)
			}
			// Another writer creates the key first: the create-only write
			// must lose and fn decide again on the stored value.
			if err := s.Set(ctx, "k", []byte("other"), gamemesh.SetOptions{}); err != nil {
				t.Fatal(err)
			}
			return &functions.Write{Value: []byte("mine")}, nil
		}
		if !exists || string(cur) != "other" {
			t.Fatalf("second read: exists=%v cur=%q", exists, cur)
		}
		return &functions.Write{Value: []byte("other+mine")}, nil
	})
	if err != nil || string(got) != "other+mine" || calls != 2 {
		t.Fatalf("got %q, %v after %d calls", got, err, calls)
	}
	if v := s.Snapshot()["k"]; v != "other+mine" {
		t.Fatalf("stored %q", v)
	}
}

func TestUpdateFnErrorWritesNothing(t *testing.T) {
	ctx := functionstest.Context(t)
	s := functionstest.NewMemStore(nil)
	if err := s.Set(ctx, "k", []byte("v"), gamemesh.SetOptions{}); err != nil {
		t.Fatal(err)
	}
	before := s.Snapshot()
	refused := gamemesh.Errorf(gamemesh.CodeLimitReached, "full")
	_, err := functions.Update(ctx, s, "k", functions.UpdateOptions{}, func([]byte, bool) (*functions.Write, error) {
		return nil, refused
	})
	if err != refused { //nolint:errorlint // fn's error must come back as is
		t.Fatalf("err = %v, want fn's error as is", err)
	}
	functionstest.WantSame(t, before, s.Snapshot())
}

func TestUpdateNoOpSkipsWrite(t *testing.T) {
	ctx := functionstest.Context(t)
	s := functionstest.NewMemStore(nil)
	// A store that refuses every write proves no write is tried.
	f := &functionstest.FaultyStore{Store: s}
	if err := s.Set(ctx, "k", []byte("v"), gamemesh.SetOptions{}); err != nil {
		t.Fatal(err)
	}
	f.FailWrites(1)
	got, err := functions.Update(ctx, f, "k", functions.UpdateOptions{}, func([]byte, bool) (*functions.Write, error) { return nil, nil })
	if err != nil || string(got) != "v" {
		t.Fatalf("got %q, %v; want the stored value", got, err)
	}
	got, err = functions.Update(ctx, f, "missing", functions.UpdateOptions{}, func([]byte, bool) (*functions.Write, error) { return nil, nil })
	if err != nil || got != nil {
		t.Fatalf("missing key: got %q, %v", got, err)
	}
	if _, ok := s.Snapshot()["missing"]; ok {
		t.Fatal("a no-op created the key")
	}
}

func TestUpdateStoreDown(t *testing.T) {
	ctx := functionstest.Context(t)
	s := functionstest.NewMemStore(nil)
	f := &functionstest.FaultyStore{Store: s}
	write := func([]byte, bool) (*functions.Write, error) { return &functions.Write{Value: []byte("x")}, nil }

	f.SetDown(true)
	_, err := functions.Update(ctx, f, "k", functions.UpdateOptions{What: "test"}, write)
	functionstest.WantCode(t, err, gamemesh.CodeUnavailable)
	if !errors.Is(err, functionstest.ErrDown) {
		t.Fatalf("cause lost: %v", err)
	}
	f.SetDown(false)

	f.FailWrites(1)
	_, err = functions.Update(ctx, f, "k", functions.UpdateOptions{What: "test"}, write)
	functionstest.WantCode(t, err, gamemesh.CodeUnavailable)
	if len(s.Snapshot()) != 0 {
		t.Fatal("a refused write left a value")
	}
}

func TestUpdateAttemptsExhausted(t *testing.T) {
	ctx := functionstest.Context(t)
	s := functionstest.NewMemStore(nil)
	calls := 0
	// Every decision is overtaken by another writer: every write conflicts.
	_, err := functions.Update(ctx, s, "k", functions.UpdateOptions{MaxAttempts: 5, Busy: errBusy}, func([]byte, bool) (*functions.Write, error) {
		calls++
		if err := s.Set(ctx, "k", []byte("other"), gamemesh.SetOptions{Unconditional: true}); err != nil {
			t.Fatal(err)
		}
		return &functions.Write{Value: []byte("mine")}, nil
	})
	if err != errBusy { //nolint:errorlint // Busy must come back as is
		t.Fatalf("err = %v, want Busy", err)
	}
	if calls != 5 {
		t.Fatalf("fn ran %d times, want 5", calls)
	}
	// Without Busy, the default is a CONFLICT naming What.
	_, err = functions.Update(ctx, s, "k", functions.UpdateOptions{MaxAttempts: 2, What: "thing"}, func([]byte, bool) (*functions.Write, error) {
		if err := s.Set(ctx, "k", []byte("other"), gamemesh.SetOptions{Unconditional: true}); err != nil {
			t.Fatal(err)
		}
		return &functions.Write{Value: []byte("mine")}, nil
	})
	functionstest.WantCode(t, err, gamemesh.CodeConflict)
	if v := s.Snapshot()["k"]; v != "other" {
		t.Fatalf("stored %q", v)
	}
}

func TestUpdateContextDone(t *testing.T) {
	s := functionstest.NewMemStore(nil)
	write := func([]byte, bool) (*functions.Write, error) { return &functions.Write{Value: []byte("x")}, nil }

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := functions.Update(ctx, s, "k", functions.UpdateOptions{}, write)
	functionstest.WantCode(t, err, gamemesh.CodeUnavailable)

	past, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	_, err = functions.Update(past, s, "k", functions.UpdateOptions{}, write)
	functionstest.WantCode(t, err, gamemesh.CodeDeadlineExceeded)

	// The context ends between attempts: the backoff notices.
	ctx3, cancel3 := context.WithCancel(context.Background())
	defer cancel3()
	_, err = functions.Update(ctx3, s, "k", functions.UpdateOptions{MaxAttempts: 100}, func([]byte, bool) (*functions.Write, error) {
		if err := s.Set(context.Background(), "k", []byte("other"), gamemesh.SetOptions{Unconditional: true}); err != nil {
			t.Fatal(err)
		}
		cancel3()
		return &functions.Write{Value: []byte("mine")}, nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the context's error as cause", err)
	}
	functionstest.WantCode(t, err, gamemesh.CodeUnavailable)
	if len(s.Snapshot()) != 1 || s.Snapshot()["k"] != "other" {
		t.Fatalf("store %v", s.Snapshot())
	}
}

func TestUpdateTTL(t *testing.T) {
	ctx := functionstest.Context(t)
	clock := functionstest.NewClock()
	s := functionstest.NewMemStore(clock.Now)
	opts := functions.UpdateOptions{TTL: time.Minute}
	set := func(key string, ttl time.Duration) {
		t.Helper()
		if _, err := functions.Update(ctx, s, key, opts, func([]byte, bool) (*functions.Write, error) {
			return &functions.Write{Value: []byte("v"), TTL: ttl}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	set("default", 0)
	set("override", time.Hour)
	clock.Advance(2 * time.Minute)
	if _, err := s.Get(ctx, "default"); !errors.Is(err, gamemesh.ErrNotFound) {
		t.Fatalf("default TTL not applied: %v", err)
	}
	if _, err := s.Get(ctx, "override"); err != nil {
		t.Fatalf("write TTL not applied: %v", err)
	}
}

func TestStoreError(t *testing.T) {
	functionstest.WantCode(t, functions.StoreError(context.DeadlineExceeded, "m"), gamemesh.CodeDeadlineExceeded)
	functionstest.WantCode(t, functions.StoreError(gamemesh.Errorf(gamemesh.CodeDeadlineExceeded, "slow"), "m"), gamemesh.CodeDeadlineExceeded)
	functionstest.WantCode(t, functions.StoreError(errors.New("boom"), "m"), gamemesh.CodeUnavailable)
	functionstest.WantCode(t, functions.StoreError(gamemesh.ErrConflict, "m"), gamemesh.CodeUnavailable)
	if err := functions.StoreError(functionstest.ErrDown, "m"); !errors.Is(err, functionstest.ErrDown) || gamemesh.MessageOf(err) != "m" {
		t.Fatalf("err = %v", err)
	}
}
