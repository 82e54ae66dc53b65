package functionstest_test

import (
	"context"
	"testing"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions/functionstest"
)

func contextCancelled(t *testing.T) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(functionstest.Context(t))
	cancel()
	return ctx, cancel
}

func set(ctx context.Context, s gamemesh.Store, key, v string) error {
	return s.Set(ctx, key, []byte(v), gamemesh.SetOptions{Unconditional: true})
}

func TestFaultyStorePassesThrough(t *testing.T) {
	mem := functionstest.NewMemStore(nil)
	f := &functionstest.FaultyStore{Store: mem}
	ctx := functionstest.Context(t)
	if err := set(ctx, f, "k", "v"); err != nil {
		t.Fatal(err)
	}
	if it, err := f.Get(ctx, "k"); err != nil || string(it.Value) != "v" {
		t.Fatalf("Get = %q, %v", it.Value, err)
	}
	if err := f.Delete(ctx, "k", ""); err != nil {
		t.Fatal(err)
	}
	if len(mem.Snapshot()) != 0 {
		t.Fatal("Delete did not reach the store")
	}
}

func TestFaultyStoreDown(t *testing.T) {
	mem := functionstest.NewMemStore(nil)
	f := &functionstest.FaultyStore{Store: mem}
	ctx := functionstest.Context(t)
	if err := set(ctx, mem, "k", "v"); err != nil {
		t.Fatal(err)
	}
	f.SetDown(true)
	_, err := f.Get(ctx, "k")
	functionstest.WantCode(t, err, gamemesh.CodeUnavailable)
	functionstest.WantCode(t, set(ctx, f, "k", "w"), gamemesh.CodeUnavailable)
	functionstest.WantCode(t, f.Delete(ctx, "k", ""), gamemesh.CodeUnavailable)
	if got := mem.Snapshot()["k"]; got != "v" {
		t.Fatalf("a down store wrote: k = %q", got)
	}
	f.SetDown(false)
	if err := set(ctx, f, "k", "w"); err != nil {
		t.Fatalf("Set after coming back: %v", err)
	}
}

func TestFaultyStoreLoseAcksAppliesTheWrite(t *testing.T) {
	mem := functionstest.NewMemStore(nil)
	f := &functionstest.FaultyStore{Store: mem}
	ctx := functionstest.Context(t)
	f.LoseAcks(1)
	// A refused write does not use up the lost ack.
	if err := f.Set(ctx, "k", []byte("v"), gamemesh.SetOptions{ETag: "stale"}); gamemesh.CodeOf(err) != gamemesh.CodeConflict {
		t.Fatalf("stale Set: %v, want CONFLICT", err)
	}
	functionstest.WantCode(t, set(ctx, f, "k", "v"), gamemesh.CodeUnavailable)
	if got := mem.Snapshot()["k"]; got != "v" {
		t.Fatalf("a lost ack was not applied: k = %q", got)
	}
	if err := set(ctx, f, "k", "w"); err != nil {
		t.Fatalf("second Set: %v", err)
	}
}

func TestFaultyStoreFailWritesRefuses(t *testing.T) {
	mem := functionstest.NewMemStore(nil)
	f := &functionstest.FaultyStore{Store: mem}
	ctx := functionstest.Context(t)
	f.FailWrites(2)
	functionstest.WantCode(t, set(ctx, f, "a", "1"), gamemesh.CodeUnavailable)
	functionstest.WantCode(t, set(ctx, f, "b", "1"), gamemesh.CodeUnavailable)
	if n := len(mem.Snapshot()); n != 0 {
		t.Fatalf("refused writes applied: %d keys", n)
	}
	if err := set(ctx, f, "c", "1"); err != nil {
		t.Fatalf("third Set: %v", err)
	}
}

func TestFaultyStoreCrashAfter(t *testing.T) {
	mem := functionstest.NewMemStore(nil)
	f := &functionstest.FaultyStore{Store: mem}
	ctx := functionstest.Context(t)
	f.CrashAfter("x/", 2)
	if err := set(ctx, f, "other", "1"); err != nil { // not counted
		t.Fatal(err)
	}
	if err := set(ctx, f, "x/1", "1"); err != nil {
		t.Fatal(err)
	}
	if f.Crashed() {
		t.Fatal("crashed after one of two writes")
	}
	if err := set(ctx, f, "x/2", "1"); err != nil {
		t.Fatal(err)
	}
	if !f.Crashed() {
		t.Fatal("not crashed after the planned writes")
	}
	functionstest.WantCode(t, set(ctx, f, "other", "2"), gamemesh.CodeUnavailable)
	functionstest.WantCode(t, f.Delete(ctx, "x/1", ""), gamemesh.CodeUnavailable)
	if _, err := f.Get(ctx, "x/1"); err != nil {
		t.Fatalf("reads fail after a crash: %v", err)
	}
	if got := mem.Snapshot(); len(got) != 3 || got["other"] != "1" {
		t.Fatalf("a crashed store wrote: %v", got)
	}
	f.Heal()
	if f.Crashed() {
		t.Fatal("still crashed after Heal")
	}
	if err := set(ctx, f, "other", "2"); err != nil {
		t.Fatalf("Set after Heal: %v", err)
	}
	f.CrashAfter("x/", 0)
	functionstest.WantCode(t, set(ctx, f, "y", "1"), gamemesh.CodeUnavailable)
}
