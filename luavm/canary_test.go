package luavm

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitFor polls cond until it holds or the test's patience ends.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCanaryRollsBackAnErroringPatch(t *testing.T) {
	p := startPool(t, Options{Canary: CanaryPolicy{Share: 0.5, MinCalls: 20, Calls: 10000, Duration: time.Minute, Margin: 0.05}})
	g1 := patchNow(t, p, "ach", `function on_event(e) return "v1" end`)
	// v2 fails on every other event.
	g2, err := p.Patch(context.Background(), bundleOf(t, "ach", `
function on_event(e)
  if e.n % 2 == 0 then error("v2 cannot handle " .. e.n) end
  return "v2"
end`), PatchOptions{By: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := p.Canary("ach"); !ok || c != g2 {
		t.Fatalf("canary = %v %v, want %v", c, ok, g2)
	}
	var v2Errors int
	for n := 0; n < 2000; n++ {
		if _, ok := p.Canary("ach"); !ok {
			break
		}
		vals, gen, err := p.Call(ctxT(t), "ach", "on_event", map[string]any{"n": n})
		switch {
		case err != nil:
			var se *ScriptError
			if gen != g2 || !errors.As(err, &se) || se.Generation != g2.Number {
				t.Fatalf("error from %v (%v): only v2 fails", gen, err)
			}
			v2Errors++
		case gen == g1 && vals[0] != "v1", gen == g2 && vals[0] != "v2":
			t.Fatalf("%v answered %v", gen, vals)
		}
	}
	if _, ok := p.Canary("ach"); ok {
		t.Fatal("the canary was not rolled back")
	}
	if a, _ := p.Active("ach"); a != g1 {
		t.Fatalf("active = %v, want %v", a, g1)
	}
	st := p.Generations("ach")
	if st[0].Number != g2.Number || st[0].State != StateRolledBack || !strings.Contains(st[0].Reason, "error rate") {
		t.Errorf("canary status: %+v", st[0])
	}
	if v2Errors == 0 {
		t.Error("no v2 error seen")
	}
	for n := 0; n < 50; n++ {
		if got, gen := callV(t, p, "ach"); got != "v1" || gen != g1 {
			t.Fatalf("after rollback: %q from %v", got, gen)
		}
	}
	t.Logf("rolled back after %d v2 errors: %s", v2Errors, st[0].Reason)
}

func TestCanaryPromotesAGoodPatch(t *testing.T) {
	p := startPool(t, Options{Canary: CanaryPolicy{Share: 0.5, MinCalls: 10, Calls: 40, Duration: time.Minute}})
	g1 := patchNow(t, p, "ach", v1)
	g2, err := p.Patch(context.Background(), bundleOf(t, "ach", v2), PatchOptions{By: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := p.Active("ach"); a != g1 {
		t.Fatalf("active during canary = %v", a)
	}
	seen := map[int]int{}
	for i := 0; i < 2000; i++ {
		if _, ok := p.Canary("ach"); !ok {
			break
		}
		got, gen := callV(t, p, "ach")
		if got != "v"+itoa(gen.Number) {
			t.Fatalf("%v answered %q", gen, got)
		}
		seen[gen.Number]++
	}
	if a, _ := p.Active("ach"); a != g2 {
		t.Fatalf("active after canary = %v, want %v", a, g2)
	}
	if seen[1] == 0 || seen[2] == 0 {
		t.Errorf("both generations should serve during the canary: %v", seen)
	}
	st := p.Generations("ach")
	if st[0].State != StateActive || st[1].State != StateRetired {
		t.Errorf("states: %+v", st)
	}
}

func TestCanaryPromotedAfterDurationWithoutCalls(t *testing.T) {
	p := startPool(t, Options{Canary: CanaryPolicy{Duration: 30 * time.Millisecond}})
	patchNow(t, p, "ach", v1)
	g2, err := p.Patch(context.Background(), bundleOf(t, "ach", v2), PatchOptions{By: "test"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "promotion by time", func() bool { a, _ := p.Active("ach"); return a == g2 })
	// A newer patch replaces a canary in progress.
	if err := p.SetCanaryPolicy(CanaryPolicy{Duration: time.Minute}); err != nil {
		t.Fatal(err)
	}
	g3, _ := p.Patch(context.Background(), bundleOf(t, "ach", `function on_event() return "v3" end`), PatchOptions{By: "test"})
	g4, _ := p.Patch(context.Background(), bundleOf(t, "ach", `function on_event() return "v4" end`), PatchOptions{By: "test"})
	if c, _ := p.Canary("ach"); c != g4 {
		t.Fatalf("canary = %v, want %v", c, g4)
	}
	if st := p.Generations("ach"); st[1].Number != g3.Number || st[1].State != StateSuperseded {
		t.Errorf("replaced canary: %+v", st[1])
	}
	// A manual rollback to the active generation ends the canary.
	if _, err := p.Rollback("ach", g2.Number, "ops"); err != nil {
		t.Fatal(err)
	}
	if _, ok := p.Canary("ach"); ok {
		t.Error("canary still running after a rollback")
	}
	if st := p.Generations("ach"); st[0].State != StateRolledBack {
		t.Errorf("canary after rollback: %+v", st[0])
	}
}

// TestSwapWith1000CallsInFlight pushes a patch while 1 000 callers hammer the
// pool: no call fails, every answer comes from the generation the call says
// answered it, and every batch sent after Patch returned runs on the new one.
func TestSwapWith1000CallsInFlight(t *testing.T) {
	for _, canary := range []bool{false, true} {
		name := "swap"
		if canary {
			name = "canary"
		}
		t.Run(name, func(t *testing.T) {
			// A generous wall budget: 1 000 goroutines on two cores under the
			// race detector can keep a worker waiting for a core for longer
			// than the default; this test is about the swap.
			p := startPool(t, Options{Limits: Limits{CallTimeout: 5 * time.Second},
				Canary: CanaryPolicy{Disabled: !canary, Share: 0.3, Calls: 300, MinCalls: 20}})
			patchNow(t, p, "ach", `function on_event(e) return "v1", e.i end`)
			var (
				wg        sync.WaitGroup
				stop      = make(chan struct{})
				started   atomic.Int64
				failures  atomic.Int64
				firstErr  atomic.Value
				mismatch  atomic.Int64
				late      atomic.Int64 // batches sent after the swap answered by gen 1
				perGen    [3]atomic.Int64
				swappedAt atomic.Int64
			)
			for i := 0; i < 1000; i++ {
				wg.Go(func() {
					for n := 0; ; n++ {
						sent := time.Now().UnixNano()
						started.Add(1)
						calls := []Call{{Fn: "on_event", Args: []any{map[string]any{"i": i}}}}
						if i%10 == 0 { // some callers batch
							for k := 1; k < 16; k++ {
								calls = append(calls, Call{Fn: "on_event", Args: []any{map[string]any{"i": i*100 + k}}})
							}
						}
						res, gen, err := p.CallBatch(context.Background(), "ach", calls)
						if err != nil {
							failures.Add(1)
							firstErr.CompareAndSwap(nil, err.Error())
							return
						}
						for k, r := range res {
							if r.Err != nil {
								failures.Add(1)
								firstErr.CompareAndSwap(nil, r.Err.Error())
								continue
							}
							want := calls[k].Args[0].(map[string]any)["i"]
							if r.Values[0] != "v"+itoa(gen.Number) || r.Values[1] != int64(want.(int)) {
								mismatch.Add(1)
							}
						}
						perGen[gen.Number].Add(1)
						if s := swappedAt.Load(); !canary && s != 0 && sent > s && gen.Number == 1 {
							late.Add(1)
						}
						select {
						case <-stop:
							if n >= 1 {
								return
							}
						default:
						}
					}
				})
			}
			waitFor(t, "calls in flight", func() bool { return started.Load() >= 1500 })
			g2, err := p.Patch(context.Background(), bundleOf(t, "ach", `function on_event(e) return "v2", e.i end`), PatchOptions{By: "test"})
			if err != nil {
				t.Fatal(err)
			}
			swappedAt.Store(time.Now().UnixNano())
			waitFor(t, "calls on the new generation", func() bool { return perGen[2].Load() >= 200 })
			close(stop)
			wg.Wait()
			if f := failures.Load(); f != 0 {
				t.Errorf("%d failed calls, first: %v", f, firstErr.Load())
			}
			if m := mismatch.Load(); m != 0 {
				t.Errorf("%d answers not from the generation reported", m)
			}
			if l := late.Load(); l != 0 {
				t.Errorf("%d batches sent after the swap ran on generation 1", l)
			}
			if perGen[1].Load() == 0 || perGen[2].Load() == 0 {
				t.Errorf("batches per generation: 1=%d 2=%d", perGen[1].Load(), perGen[2].Load())
			}
			t.Logf("batches: gen1=%d gen2=%d (%v)", perGen[1].Load(), perGen[2].Load(), g2)
		})
	}
}
