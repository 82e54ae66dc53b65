package luavm

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
)

const bombModule = `
function ok(x) return x end
function loop() while true do end end
function loop_in_pcall()
  while true do pcall(function() while true do end end) end
end
function pcall_then_escape()
  pcall(function() while true do end end)
  return "escaped"
end
function xpcall_handler_loop()
  return xpcall(function() error("boom") end, function(e) while true do end end)
end
function xpcall_swallow_recursion()
  local function f(n) return 1 + f(n + 1) end
  return xpcall(function() return f(1) end, function(e) return "swallowed" end)
end
function recurse()
  local function f(n) return 1 + f(n + 1) end
  return f(1)
end
function recurse_in_pcall()
  local function f(n) return 1 + f(n + 1) end
  local ok, err = pcall(f, 1)
  return "caught: " .. tostring(err)
end
function table_bomb()
  local t, i = {}, 0
  while true do i = i + 1; t[i] = i end
end
function string_bomb()
  local s = "x"
  while true do s = s .. s end
end
function unpack_bomb() return unpack({}, 1, 1e8) end
function byte_bomb()
  local s = "x"
  for i = 1, 16 do s = s .. s end
  return string.byte(s, 1, -1)
end
function backtrack()
  local s = "a"
  for i = 1, 12 do s = s .. s end -- 4096 bytes
  return string.find(s, "a*a*a*a*a*a*a*a*b")
end
function metamethod_recursion()
  local t = setmetatable({}, {})
  getmetatable(t).__index = function(tt, k) return tt[k] end
  return t.x
end
`

func bombPool(t *testing.T, lim Limits) *Pool {
	t.Helper()
	p := startPool(t, Options{Limits: lim})
	patchNow(t, p, "bomb", bombModule)
	return p
}

func TestBudgetsStopEveryBomb(t *testing.T) {
	p := bombPool(t, Limits{Workers: 1, CallTimeout: 100 * time.Millisecond, CPUTime: 50 * time.Millisecond, RegistryMaxSize: 16 * 1024})
	ctx := ctxT(t)
	cases := []struct {
		fn   string
		want []Budget // any of
	}{
		// Registry bombs first: a heap left big by the string bomb slows
		// them down enough to meet the deadline on a loaded machine.
		{"unpack_bomb", []Budget{BudgetRegistry}},
		{"byte_bomb", []Budget{BudgetRegistry}},
		{"recurse", []Budget{BudgetCallStack}},
		{"recurse_in_pcall", []Budget{BudgetCallStack}},
		{"xpcall_swallow_recursion", []Budget{BudgetCallStack}},
		{"metamethod_recursion", []Budget{BudgetCallStack}},
		{"loop", []Budget{BudgetCPU, BudgetDeadline}},
		{"loop_in_pcall", []Budget{BudgetCPU, BudgetDeadline}},
		{"pcall_then_escape", []Budget{BudgetCPU, BudgetDeadline}},
		{"xpcall_handler_loop", []Budget{BudgetCPU, BudgetDeadline}},
		{"backtrack", []Budget{BudgetCPU, BudgetDeadline}},
		{"table_bomb", []Budget{BudgetCPU, BudgetDeadline}},
		{"string_bomb", []Budget{BudgetCPU, BudgetDeadline}},
	}
	kills := uint64(0)
	for _, c := range cases {
		t.Run(c.fn, func(t *testing.T) {
			builds := p.Stats().VMBuilds
			start := time.Now()
			vals, gen, err := p.Call(ctx, "bomb", c.fn)
			took := time.Since(start)
			if err == nil {
				t.Fatalf("%s returned %v; want a budget error", c.fn, vals)
			}
			b := BudgetOf(err)
			okB := false
			for _, w := range c.want {
				okB = okB || b == w
			}
			if !okB {
				t.Fatalf("%s: budget %q (%v), want one of %v", c.fn, b, err, c.want)
			}
			if code := gamemesh.CodeOf(err); code != b.code() {
				t.Errorf("%s: code %v, want %v", c.fn, code, b.code())
			}
			if gen.Number != 1 {
				t.Errorf("answered by %v", gen)
			}
			kills++
			// The pool still serves, on a fresh VM.
			vals, _, err = p.Call(ctx, "bomb", "ok", "alive")
			if err != nil || vals[0] != "alive" {
				t.Fatalf("after %s: %v %v", c.fn, vals, err)
			}
			if got := p.Stats().VMBuilds; got != builds+1 {
				t.Errorf("VM builds %d -> %d, want one rebuild", builds, got)
			}
			t.Logf("%s stopped by %s after %s", c.fn, b, took.Round(time.Millisecond))
		})
	}
	st := p.Generations("bomb")[0]
	if st.BudgetKills != kills || st.Errors != kills {
		t.Errorf("generation counters kills=%d errors=%d, want %d", st.BudgetKills, st.Errors, kills)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("heap in use after the bombs: %d MiB", ms.HeapInuse>>20)
}

func TestDeadlineAndCPUAreDistinct(t *testing.T) {
	if _, ok := threadCPU(); !ok {
		t.Skip("no thread CPU clock on this platform: only the deadline is enforced")
	}
	// A wall budget far below the CPU budget: the deadline stops the loop.
	p := bombPool(t, Limits{Workers: 1, CallTimeout: 30 * time.Millisecond, CPUTime: 10 * time.Second})
	if _, _, err := p.Call(ctxT(t), "bomb", "loop"); BudgetOf(err) != BudgetDeadline {
		t.Fatalf("want a deadline hit, got %v", err)
	}
	// A CPU budget far below the wall budget: the thread clock stops it.
	if err := p.SetLimits(Limits{Workers: 1, CallTimeout: 10 * time.Second, CPUTime: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, _, err := p.Call(ctxT(t), "bomb", "loop")
	if BudgetOf(err) != BudgetCPU {
		t.Fatalf("want a CPU hit, got %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("CPU budget of 20ms took %s to stop the loop", time.Since(start))
	}
	// A bomb of few, long instructions is seen by the timer's reads of the
	// worker thread's CPU clock, long before the 10 s deadline.
	start = time.Now()
	_, _, err = p.Call(ctxT(t), "bomb", "string_bomb")
	if BudgetOf(err) != BudgetCPU {
		t.Fatalf("want a CPU hit for the string bomb, got %v", err)
	}
	t.Logf("string bomb stopped by the CPU budget after %s", time.Since(start).Round(time.Millisecond))
}

func TestCallerCancellationStopsCall(t *testing.T) {
	p := bombPool(t, Limits{Workers: 1, CallTimeout: 10 * time.Second, CPUTime: 10 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(30*time.Millisecond, cancel)
	_, _, err := p.Call(ctx, "bomb", "loop")
	if BudgetOf(err) != BudgetCancelled {
		t.Fatalf("want a cancelled call, got %v", err)
	}
	st := p.Generations("bomb")[0]
	if st.Errors != 0 {
		t.Errorf("a cancelled call counted as a script error: %+v", st)
	}
	// A caller deadline shorter than the budget stops the call too.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel2()
	if _, _, err := p.Call(ctx2, "bomb", "loop"); BudgetOf(err) != BudgetDeadline {
		t.Fatalf("want a deadline hit from the caller's deadline, got %v", err)
	}
	if vals, _, err := p.Call(ctxT(t), "bomb", "ok", 1); err != nil || vals[0] != int64(1) {
		t.Fatalf("pool does not serve after cancellation: %v %v", vals, err)
	}
}
