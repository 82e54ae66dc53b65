package luavm

import (
	"sync/atomic"
	"testing"
)

// OnChange is called for every change of what serves a module — a swap, a
// canary started, a rollback — and not after its cancel.
func TestOnChangeReportsRoutingChanges(t *testing.T) {
	p := startPool(t, Options{Required: RequiredExports, Canary: CanaryPolicy{Share: 0.5, Calls: 1 << 20, Duration: 1 << 40}})
	var calls atomic.Int32
	cancel := p.OnChange(func() { calls.Add(1) })
	ctx := ctxT(t)
	if _, err := p.Patch(ctx, achBundle(t, "one"), PatchOptions{SkipCanary: true}); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("after the first generation: %d calls, want 1", n)
	}
	if _, err := p.Patch(ctx, achBundle(t, "two"), PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Canary("achievement"); !ok || calls.Load() != 2 {
		t.Fatalf("after a canary started: %d calls (canary running: %v), want 2", calls.Load(), ok)
	}
	if _, err := p.Rollback("achievement", 1, "test"); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 3 {
		t.Fatalf("after a rollback: %d calls, want 3", n)
	}
	cancel()
	cancel() // idempotent
	if _, err := p.Patch(ctx, achBundle(t, "three"), PatchOptions{SkipCanary: true}); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 3 {
		t.Fatalf("after cancel: %d calls, want still 3", n)
	}
}
