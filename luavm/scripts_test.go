package luavm

import (
	"context"
	"testing"
)

// TestLuaScripts runs every *_test.lua under scripts/.
func TestLuaScripts(t *testing.T) {
	RunLuaTests(t, "../scripts")
}

// TestScriptsBundlesPatch loads every module of scripts/ into a pool that
// requires the achievement contract, as a host would.
func TestScriptsBundlesPatch(t *testing.T) {
	bundles, err := LoadDir("../scripts")
	if err != nil {
		t.Fatal(err)
	}
	if len(bundles) == 0 {
		t.Fatal("no module under scripts/")
	}
	p := startPool(t, Options{Required: RequiredExports})
	for _, b := range bundles {
		if _, err := p.Patch(context.Background(), b, PatchOptions{By: "test"}); err != nil {
			t.Fatalf("%s: %v", b.Module(), err)
		}
	}
	vals, gen, err := p.Call(ctxT(t), "achievement", "on_event",
		map[string]any{"kind": "monster_killed", "count": 10}, nil)
	if err != nil {
		t.Fatal(err)
	}
	progress := vals[0].(map[string]any)
	unlocks := vals[1].([]any)
	if progress["kills"] != int64(10) || len(unlocks) != 1 || unlocks[0].(map[string]any)["id"] != "kills_10" {
		t.Fatalf("on_event = %v (gen %v)", vals, gen)
	}
	// The progress round-trips as the next call's argument.
	vals, _, err = p.Call(ctxT(t), "achievement", "on_event", map[string]any{"kind": "monster_killed"}, progress)
	if err != nil || vals[0].(map[string]any)["kills"] != int64(11) {
		t.Fatalf("second event: %v %v", vals, err)
	}
	if u, ok := vals[1].(map[string]any); !ok || len(u) != 0 {
		t.Fatalf("no unlock expected, got %#v", vals[1])
	}
}
