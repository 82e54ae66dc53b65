package functionstest_test

import (
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	"github.com/gamemesh/gamemesh/meshtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMemStoreConformance(t *testing.T) {
	meshtest.TestStore(t, func(*testing.T) gamemesh.Store { return functionstest.NewMemStore(nil) })
}

func TestMemStoreTTLRunsOnItsClock(t *testing.T) {
	clk := functionstest.NewClock()
	s := functionstest.NewMemStore(clk.Now)
	ctx := functionstest.Context(t)
	if err := s.Set(ctx, "k", []byte("v"), gamemesh.SetOptions{TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute - time.Nanosecond)
	if _, err := s.Get(ctx, "k"); err != nil {
		t.Fatalf("Get before the TTL: %v", err)
	}
	clk.Advance(time.Nanosecond)
	if _, err := s.Get(ctx, "k"); !errors.Is(err, gamemesh.ErrNotFound) {
		t.Fatalf("Get at the TTL: err = %v, want NOT_FOUND", err)
	}
	if err := s.Set(ctx, "k", []byte("again"), gamemesh.SetOptions{}); err != nil {
		t.Fatalf("create-only Set after expiry: %v", err)
	}
}

func TestMemStoreUnconditionalAndSnapshot(t *testing.T) {
	s := functionstest.NewMemStore(nil)
	ctx := functionstest.Context(t)
	for _, v := range []string{"a", "b"} {
		if err := s.Set(ctx, "k", []byte(v), gamemesh.SetOptions{Unconditional: true}); err != nil {
			t.Fatalf("unconditional Set %q: %v", v, err)
		}
	}
	if err := s.Set(ctx, "j", []byte("x"), gamemesh.SetOptions{}); err != nil {
		t.Fatal(err)
	}
	snap := s.Snapshot()
	if len(snap) != 2 || snap["k"] != "b" || snap["j"] != "x" {
		t.Fatalf("Snapshot = %v, want k=b j=x", snap)
	}
	snap["k"] = "changed"
	if s.Snapshot()["k"] != "b" {
		t.Fatal("Snapshot is not a copy")
	}
}

func TestMemStoreHonoursContext(t *testing.T) {
	s := functionstest.NewMemStore(nil)
	ctx, cancel := contextCancelled(t)
	defer cancel()
	if err := s.Set(ctx, "k", []byte("v"), gamemesh.SetOptions{}); err == nil {
		t.Fatal("Set on a cancelled context succeeded")
	}
	if len(s.Snapshot()) != 0 {
		t.Fatal("Set on a cancelled context wrote")
	}
	if _, err := s.Get(ctx, "k"); err == nil {
		t.Fatal("Get on a cancelled context succeeded")
	}
	if err := s.Delete(ctx, "k", ""); err == nil {
		t.Fatal("Delete on a cancelled context succeeded")
	}
}
