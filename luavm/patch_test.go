package luavm

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
)

const v1 = `function on_event(e) return "v1" end`
const v2 = `function on_event(e) return "v2" end`

func callV(t *testing.T, p *Pool, module string) (string, Generation) {
	t.Helper()
	vals, gen, err := p.Call(ctxT(t), module, "on_event", map[string]any{"kind": "x"})
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	return vals[0].(string), gen
}

func TestPatchRefusals(t *testing.T) {
	p := startPool(t, Options{Required: map[string][]string{"ach": {"on_event"}}, Limits: Limits{CallTimeout: 50 * time.Millisecond}})
	g1 := patchNow(t, p, "ach", v1)

	// A patch that does not compile never becomes a bundle.
	_, err := NewBundle("ach", []File{{Name: "main.lua", Source: "function on_event(e) return 'v2' en"}})
	if gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument || !strings.Contains(gamemesh.MessageOf(err), "ach/main.lua") ||
		!strings.Contains(gamemesh.MessageOf(err), "does not compile") {
		t.Fatalf("compile error: %v", err)
	}
	if got, gen := callV(t, p, "ach"); got != "v1" || gen != g1 {
		t.Fatalf("after a compile error: %q from %v", got, gen)
	}

	refused := map[string]struct{ src, want string }{
		"missing export":   {`function other() end`, "does not define the required function on_event"},
		"load error":       {`error("no way") function on_event() end`, "no way"},
		"load loop":        {`while true do end function on_event() end`, "budget exceeded"},
		"self_test false":  {`function on_event() return "v2" end function self_test() return false end`, "self_test returned false"},
		"self_test error":  {`function on_event() return "v2" end function self_test() error("broken") end`, "broken"},
		"self_test loop":   {`function on_event() return "v2" end function self_test() while true do end end`, "budget"},
		"self_test absent": {`function on_event() return "v2" end function self_test() return "yes" end`, "self_test returned yes"},
	}
	for name, c := range refused {
		t.Run(name, func(t *testing.T) {
			_, err := p.Patch(context.Background(), bundleOf(t, "ach", c.src), PatchOptions{By: "test"})
			if gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
				t.Fatalf("code %v: %v", gamemesh.CodeOf(err), err)
			}
			if !strings.Contains(gamemesh.MessageOf(err), "patch refused") || !strings.Contains(errText(err), c.want) {
				t.Errorf("error %q / %q does not say %q", gamemesh.MessageOf(err), errText(err), c.want)
			}
			if got, gen := callV(t, p, "ach"); got != "v1" || gen != g1 {
				t.Errorf("after a refused patch: %q from %v, want v1 from %v", got, gen, g1)
			}
			if gens := p.Generations("ach"); len(gens) != 1 {
				t.Errorf("a refused patch was kept: %+v", gens)
			}
		})
	}
	if _, err := p.Patch(context.Background(), nil, PatchOptions{}); gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
		t.Errorf("nil bundle: %v", err)
	}
}

func TestManualRollbackRestoresOldBehaviour(t *testing.T) {
	p := startPool(t, Options{Required: map[string][]string{"ach": {"on_event"}}})
	g1 := patchNow(t, p, "ach", v1)
	g2 := patchNow(t, p, "ach", v2)
	if got, gen := callV(t, p, "ach"); got != "v2" || gen.Number != 2 {
		t.Fatalf("after patch: %q %v", got, gen)
	}
	back, err := p.Rollback("ach", 0, "ops")
	if err != nil || back != g1 {
		t.Fatalf("rollback: %v %v", back, err)
	}
	if got, gen := callV(t, p, "ach"); got != "v1" || gen != g1 {
		t.Fatalf("after rollback: %q %v", got, gen)
	}
	st := p.Generations("ach")
	if st[0].Number != 2 || st[0].State != StateRolledBack || !strings.Contains(st[0].Reason, "by ops") || st[1].State != StateActive {
		t.Errorf("states after rollback: %+v", st)
	}
	// Forward again, to a kept generation by number.
	if _, err := p.Rollback("ach", g2.Number, "ops"); err != nil {
		t.Fatal(err)
	}
	if got, _ := callV(t, p, "ach"); got != "v2" {
		t.Fatalf("after rolling forward: %q", got)
	}
	if _, err := p.Rollback("ach", 9, "ops"); !errors.Is(err, gamemesh.ErrNotFound) {
		t.Errorf("unknown generation: %v", err)
	}
	if _, err := p.Rollback("nope", 0, "ops"); !errors.Is(err, gamemesh.ErrNotFound) {
		t.Errorf("unknown module: %v", err)
	}
	// Pushing the active code again changes nothing.
	again, err := p.Patch(context.Background(), bundleOf(t, "ach", v2), PatchOptions{By: "test"})
	if err != nil || again != g2 || len(p.Generations("ach")) != 2 {
		t.Errorf("re-push of the active bundle: %v %v %d", again, err, len(p.Generations("ach")))
	}
}

func TestKeepDropsOldestGenerations(t *testing.T) {
	p := startPool(t, Options{Keep: 3})
	for i := 1; i <= 5; i++ {
		patchNow(t, p, "mm", `function f() return `+itoa(i)+` end`)
	}
	st := p.Generations("mm")
	if len(st) != 3 || st[0].Number != 5 || st[2].Number != 3 {
		t.Fatalf("kept: %+v", st)
	}
	if _, err := p.Rollback("mm", 1, "ops"); !errors.Is(err, gamemesh.ErrNotFound) {
		t.Errorf("rollback to a dropped generation: %v", err)
	}
	if _, err := p.Rollback("mm", 3, "ops"); err != nil {
		t.Errorf("rollback to a kept generation: %v", err)
	}
	vals, _, err := p.Call(ctxT(t), "mm", "f")
	if err != nil || vals[0] != int64(3) {
		t.Errorf("after rollback: %v %v", vals, err)
	}
}

func TestBatchRefusalsAndPerCallErrors(t *testing.T) {
	p := startPool(t, Options{Limits: Limits{MaxBatch: 8, MaxStringLen: 1024}})
	patchNow(t, p, "mm", `function echo(x) return x end function fail(x) error("bad " .. x) end`)
	ctx := ctxT(t)
	batchErrs := map[string]struct {
		module string
		calls  []Call
		code   gamemesh.Code
	}{
		"empty":          {"mm", nil, gamemesh.CodeInvalidArgument},
		"too many":       {"mm", make([]Call, 9), gamemesh.CodeInvalidArgument},
		"bad fn name":    {"mm", []Call{{Fn: "a.b"}}, gamemesh.CodeInvalidArgument},
		"empty fn name":  {"mm", []Call{{Fn: ""}}, gamemesh.CodeInvalidArgument},
		"unknown module": {"zz", []Call{{Fn: "echo"}}, gamemesh.CodeNotFound},
	}
	for name, c := range batchErrs {
		if _, _, err := p.CallBatch(ctx, c.module, c.calls); gamemesh.CodeOf(err) != c.code {
			t.Errorf("%s: %v, want %v", name, err, c.code)
		}
	}
	big := strings.Repeat("x", 2000)
	res, gen, err := p.CallBatch(ctx, "mm", []Call{
		{Fn: "echo", Args: []any{"ok"}},
		{Fn: "fail", Args: []any{"input"}},
		{Fn: "missing"},
		{Fn: "echo", Args: []any{big}},
		{Fn: "echo", Args: []any{map[int]int{1: 1}}},
		{Fn: "echo", Args: []any{[]any{1, "two", 3.5, true, nil}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || res[0].Values[0] != "ok" {
		t.Errorf("echo: %+v", res[0])
	}
	var se *ScriptError
	if !errors.As(res[1].Err, &se) || se.Generation != gen.Number || se.Fn != "fail" || !strings.Contains(se.Message, "bad input") ||
		gamemesh.CodeOf(res[1].Err) != gamemesh.CodeInternal {
		t.Errorf("fail: %+v", res[1].Err)
	}
	if !errors.Is(res[2].Err, gamemesh.ErrNotFound) {
		t.Errorf("missing function: %v", res[2].Err)
	}
	for _, i := range []int{3, 4} {
		if gamemesh.CodeOf(res[i].Err) != gamemesh.CodeInvalidArgument {
			t.Errorf("call %d: %v, want INVALID_ARGUMENT", i, res[i].Err)
		}
	}
	if res[5].Err != nil {
		t.Errorf("list: %v", res[5].Err)
	}
	// Bad arguments are the caller's: only the script error and the missing
	// function count against the generation.
	if st := p.Generations("mm")[0]; st.Calls != 6 || st.Errors != 2 || st.BudgetKills != 0 {
		t.Errorf("counters: %+v", st)
	}
}

func TestSetLimitsIsLive(t *testing.T) {
	p := startPool(t, Options{Limits: Limits{Workers: 2}})
	patchNow(t, p, "mm", `function f(x) return x end function spin() while true do end end`)
	for _, n := range []int{4, 1, 3} {
		if err := p.SetLimits(Limits{Workers: n, CallTimeout: 40 * time.Millisecond, CPUTime: time.Second}); err != nil {
			t.Fatal(err)
		}
		if got := p.Stats().Workers; got != n {
			t.Fatalf("workers = %d, want %d", got, n)
		}
		if vals, _, err := p.Call(ctxT(t), "mm", "f", n); err != nil || vals[0] != int64(n) {
			t.Fatalf("call with %d workers: %v %v", n, vals, err)
		}
	}
	start := time.Now()
	if _, _, err := p.Call(ctxT(t), "mm", "spin"); BudgetOf(err) != BudgetDeadline {
		t.Fatalf("spin: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the new 40ms timeout took %s", d)
	}
	if err := p.SetLimits(Limits{Workers: 1000}); gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
		t.Errorf("absurd limits: %v", err)
	}
	if err := p.SetLimits(Limits{CallStackSize: 64, RegistryMaxSize: 4096}); err != nil {
		t.Fatal(err)
	}
	if vals, _, err := p.Call(ctxT(t), "mm", "f", "after"); err != nil || vals[0] != "after" {
		t.Fatalf("after a VM-shape change: %v %v", vals, err)
	}
}

func TestLifecycleErrors(t *testing.T) {
	p, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Call(context.Background(), "mm", "f"); gamemesh.CodeOf(err) != gamemesh.CodeUnavailable {
		t.Errorf("before Start: %v", err)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	patchNow(t, p, "mm", `function f() return 1 end`)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.Call(context.Background(), "mm", "f"); gamemesh.CodeOf(err) != gamemesh.CodeShuttingDown {
		t.Errorf("after Close: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := New(Options{Limits: Limits{Workers: -1}}); gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
		t.Errorf("bad limits: %v", err)
	}
	if _, err := New(Options{Canary: CanaryPolicy{Share: 2}}); gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
		t.Errorf("bad canary: %v", err)
	}
}

func TestHostAPI(t *testing.T) {
	p := startPool(t, Options{})
	patchNow(t, p, "mm", `
function cfg() return config.get("tiers"), config.get("absent", "dflt") end
function ev(e) return event.kind(e), event.number(e, "n", 0), event.string(e, "s", "none"), event.bool(e, "b", false) end
function bad_ev(e) return event.integer(e, "n") end
function fx() return effect.grant("gold", 5), effect.notice("hi") end
function bad_fx() return effect.grant("Gold!", 5) end
function logs() for i = 1, 100 do log.info("line", {i = i}) end print("done") return true end
function mutate_cfg() local c = config.get("tiers") c[1] = 999 return config.get("tiers")[1] end
`)
	if err := p.SetConfig("tiers", []any{10, 100}); err != nil {
		t.Fatal(err)
	}
	if err := p.SetConfig("huge", strings.Repeat("x", 1<<20)); gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
		t.Errorf("oversized config: %v", err)
	}
	ctx := ctxT(t)
	vals, _, err := p.Call(ctx, "mm", "cfg")
	if err != nil || len(vals[0].([]any)) != 2 || vals[1] != "dflt" {
		t.Errorf("config: %v %v", vals, err)
	}
	if vals, _, err := p.Call(ctx, "mm", "mutate_cfg"); err != nil || vals[0] != int64(10) {
		t.Errorf("config copies: %v %v", vals, err)
	}
	vals, _, err = p.Call(ctx, "mm", "ev", map[string]any{"kind": "k", "n": 2.5, "b": true})
	if err != nil || vals[0] != "k" || vals[1] != 2.5 || vals[2] != "none" || vals[3] != true {
		t.Errorf("event: %v %v", vals, err)
	}
	if _, _, err := p.Call(ctx, "mm", "bad_ev", map[string]any{"n": 2.5}); err == nil || !strings.Contains(errText(err), "must be an integer") {
		t.Errorf("bad event: %v", err)
	}
	vals, _, err = p.Call(ctx, "mm", "fx")
	if err != nil || vals[0].(map[string]any)["count"] != int64(5) || vals[1].(map[string]any)["text"] != "hi" {
		t.Errorf("effects: %v %v", vals, err)
	}
	if _, _, err := p.Call(ctx, "mm", "bad_fx"); err == nil {
		t.Error("a bad grant was accepted")
	}
	if _, _, err := p.Call(ctx, "mm", "logs"); err != nil {
		t.Errorf("logs: %v", err)
	}
	if err := p.SetConfig("tiers", nil); err != nil {
		t.Fatal(err)
	}
	if vals, _, err := p.Call(ctx, "mm", "cfg"); err != nil || vals[0] != nil {
		t.Errorf("removed config: %v %v", vals, err)
	}
}
