package luavm

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The benchmarks use the real achievement rule (scripts/achievement).

func benchBundle(b *testing.B) *Bundle {
	b.Helper()
	bundle, err := LoadModule("../scripts/achievement")
	if err != nil {
		b.Fatal(err)
	}
	return bundle
}

func benchArgs() []any {
	return []any{
		map[string]any{"kind": "monster_killed", "count": 1},
		map[string]any{"kills": 42, "mails_sent": 3, "level": 7, "unlocked": map[string]any{"kills_10": true, "first_mail": true}},
	}
}

// directVM is the baseline: the same sandboxed LState and rule, called on the
// benchmark's goroutine, with the same argument and result conversions, and
// no thread crossing.
func directVM(b *testing.B, bundle *Bundle) *vm {
	b.Helper()
	bud := newBudget()
	b.Cleanup(bud.close)
	v := newVM(Generation{Module: bundle.module, Hash: bundle.hash}, DefaultLimits(), bud, hostEnv{log: slog.New(slog.DiscardHandler)})
	b.Cleanup(v.close)
	if err := v.load(bundle.protos); err != nil {
		b.Fatal(err)
	}
	return v
}

func benchPool(b *testing.B, workers int, bundle *Bundle) *Pool {
	b.Helper()
	p := startPool(b, Options{Limits: Limits{Workers: workers}, Canary: CanaryPolicy{Disabled: true}})
	if _, err := p.Patch(context.Background(), bundle, PatchOptions{By: "bench"}); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkBatchedVsDirect runs the rule directly on one LState and through
// the pool in batches of 64 (one worker), alternating in one loop, and
// reports both costs per call and their ratio (goal ≤ 1.3). It also reports
// the wall time the batch spent on the worker (worker-ns/call): the rest of
// batched-ns/call is the crossing, which on a loaded machine is mostly the
// OS waking the worker's thread.
func BenchmarkBatchedVsDirect(b *testing.B) {
	b.Run("achievement", func(b *testing.B) {
		batchedVsDirect(b, benchBundle(b), "on_event", benchArgs())
	})
	// The small rule the issue measured before any code (20 iterations).
	b.Run("small_rule", func(b *testing.B) {
		small, err := NewBundle("small", []File{{Name: "r.lua", Source: `
function rule(n) local s = 0 for i = 1, n do s = s + i * 2 end return s end`}})
		if err != nil {
			b.Fatal(err)
		}
		batchedVsDirect(b, small, "rule", []any{20})
	})
}

func batchedVsDirect(b *testing.B, bundle *Bundle, fn string, args []any) {
	v := directVM(b, bundle)
	p := benchPool(b, 1, bundle)
	gen := p.lookup(bundle.module).route.Load().active
	batch := make([]Call, 64)
	for i := range batch {
		batch[i] = Call{Fn: fn, Args: args}
	}
	ctx := context.Background()
	var direct, batched, onWorker time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i += 64 {
		t0 := time.Now()
		for k := 0; k < 64; k++ {
			if _, err := v.call(fn, args); err != nil {
				b.Fatal(err)
			}
		}
		t1 := time.Now()
		j := &job{ctx: ctx, gen: gen, calls: batch, results: make([]Result, len(batch)), done: make(chan struct{})}
		if err := p.runJob(ctx, j); err != nil || j.results[63].Err != nil {
			b.Fatal(err, j.results[63].Err)
		}
		direct += t1.Sub(t0)
		batched += time.Since(t1)
		onWorker += j.ran
	}
	calls := float64((b.N + 63) / 64 * 64)
	b.ReportMetric(float64(direct.Nanoseconds())/calls, "direct-ns/call")
	b.ReportMetric(float64(batched.Nanoseconds())/calls, "batched-ns/call")
	b.ReportMetric(float64(onWorker.Nanoseconds())/calls, "worker-ns/call")
	b.ReportMetric(float64(batched)/float64(direct), "batched/direct")
}

// BenchmarkDirectRawTables is the rule on a bare LState call with
// pre-built Lua tables: what the conversions cost.
func BenchmarkDirectRawTables(b *testing.B) {
	bundle := benchBundle(b)
	v := directVM(b, bundle)
	L := v.L
	conv := newConverter(v.limits)
	args := benchArgs()
	e, _ := conv.toLua(L, args[0], 0)
	pr, _ := conv.toLua(L, args[1], 0)
	fn := v.fns["on_event"]
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		L.Push(fn)
		L.Push(e)
		L.Push(pr)
		if err := L.PCall(2, 2, nil); err != nil {
			b.Fatal(err)
		}
		L.SetTop(0)
	}
}

// BenchmarkSingleCall is one call per crossing, sequential: the achievement
// rule, and a function that does nothing (the crossing alone).
func BenchmarkSingleCall(b *testing.B) {
	b.Run("achievement", func(b *testing.B) {
		p := benchPool(b, 1, benchBundle(b))
		args := benchArgs()
		ctx := context.Background()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, _, err := p.Call(ctx, "achievement", "on_event", args...); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("noop", func(b *testing.B) {
		p := benchPool(b, 1, bundleOf(b, "noop", `function noop() end`))
		ctx := context.Background()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, _, err := p.Call(ctx, "noop", "noop"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkThroughput is calls/s with two workers (this machine's two cores)
// fed batches of 64 from parallel callers.
func BenchmarkThroughput(b *testing.B) {
	p := benchPool(b, 2, benchBundle(b))
	args := benchArgs()
	batch := make([]Call, 64)
	for i := range batch {
		batch[i] = Call{Fn: "on_event", Args: args}
	}
	var calls atomic.Int64
	b.SetParallelism(2)
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, _, err := p.CallBatch(ctx, "achievement", batch); err != nil {
				b.Error(err)
				return
			}
			calls.Add(64)
		}
	})
	b.ReportMetric(float64(calls.Load())/time.Since(start).Seconds(), "calls/s")
}

// BenchmarkSwapUnderLoad patches (check + swap, no canary) while four
// goroutines keep both workers busy with batches.
func BenchmarkSwapUnderLoad(b *testing.B) {
	bundle := benchBundle(b)
	p := benchPool(b, 2, bundle)
	files := bundle.Files()
	alt := append([]File(nil), files...)
	alt[0].Source += "\n-- alternate\n"
	other, err := NewBundle("achievement", alt)
	if err != nil {
		b.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failed atomic.Int64
	batch := make([]Call, 64)
	for i := range batch {
		batch[i] = Call{Fn: "on_event", Args: benchArgs()}
	}
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if res, _, err := p.CallBatch(context.Background(), "achievement", batch); err != nil || res[0].Err != nil {
					failed.Add(1)
				}
			}
		})
	}
	bundles := []*Bundle{other, bundle}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.Patch(context.Background(), bundles[i%2], PatchOptions{By: "bench", SkipCanary: true}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	if failed.Load() != 0 {
		b.Fatalf("%d failed batches during swaps", failed.Load())
	}
}

// BenchmarkDeadlineOvershoot measures how far past a 10 ms deadline an
// infinite loop is stopped, seen by the caller: it includes one crossing to
// the worker and back (see BenchmarkSingleCall) and the error path, not the
// VM rebuild (done at the next call, outside the timing).
func BenchmarkDeadlineOvershoot(b *testing.B) {
	const deadline = 10 * time.Millisecond
	p := startPool(b, Options{Limits: Limits{Workers: 1, CallTimeout: deadline, CPUTime: time.Second}})
	if _, err := p.Patch(context.Background(), bundleOf(b, "spin", `function spin() while true do end end function ok() end`), PatchOptions{}); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	over := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if _, _, err := p.Call(ctx, "spin", "ok"); err != nil { // builds a fresh VM
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		_, _, err := p.Call(ctx, "spin", "spin")
		over = append(over, time.Since(start)-deadline)
		if BudgetOf(err) != BudgetDeadline {
			b.Fatalf("spin: %v", err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(percentile(over, 0.5).Microseconds()), "µs-past-deadline-p50")
	b.ReportMetric(float64(percentile(over, 1).Microseconds()), "µs-past-deadline-max")
}

func percentile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(q*float64(len(s)-1))]
}
