package luavm

import (
	"math"
	"reflect"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/gamemesh/gamemesh"
)

func TestValuesRoundTrip(t *testing.T) {
	tune()
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer L.Close()
	lim := DefaultLimits()
	cases := []struct {
		in, want any
	}{
		{nil, nil},
		{true, true},
		{42, int64(42)},
		{int64(-7), int64(-7)},
		{uint8(3), int64(3)},
		{2.5, 2.5},
		{float32(0.5), 0.5},
		{math.Inf(1), math.Inf(1)},
		{"s", "s"},
		{[]any{1, "a", []any{true}}, []any{int64(1), "a", []any{true}}},
		{[]string{"x", "y"}, []any{"x", "y"}},
		{map[string]any{"a": 1, "b": map[string]any{"c": "d"}}, map[string]any{"a": int64(1), "b": map[string]any{"c": "d"}}},
		{map[string]int{"k": 2}, map[string]any{"k": int64(2)}},
		{map[string]any{}, map[string]any{}},
		{[]any{}, map[string]any{}}, // an empty table is an empty map
	}
	for _, c := range cases {
		lv, err := newConverter(lim).toLua(L, c.in, 0)
		if err != nil {
			t.Errorf("toLua(%#v): %v", c.in, err)
			continue
		}
		got, err := newConverter(lim).fromLua(lv, 0)
		if err != nil {
			t.Errorf("fromLua(%#v): %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("round trip of %#v = %#v, want %#v", c.in, got, c.want)
		}
	}
}

func TestValuesRefused(t *testing.T) {
	tune()
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer L.Close()
	lim := DefaultLimits()
	lim.MaxStringLen, lim.MaxTableEntries, lim.MaxDepth = 1024, 100, 4
	deep := any("leaf")
	for i := 0; i < 6; i++ {
		deep = []any{deep}
	}
	for name, in := range map[string]any{
		"long string":   strings.Repeat("x", 2000),
		"long key":      map[string]any{strings.Repeat("k", 2000): 1},
		"many entries":  make([]any, 101),
		"too deep":      deep,
		"int key map":   map[int]string{1: "a"},
		"huge int":      int64(1) << 60,
		"huge uint":     uint64(1) << 60,
		"func":          func() {},
		"chan":          make(chan int),
		"struct":        struct{ A int }{1},
		"nested bad":    map[string]any{"a": []any{func() {}}},
		"entries split": map[string]any{"a": make([]any, 60), "b": make([]any, 60)},
	} {
		if _, err := newConverter(lim).toLua(L, in, 0); gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
			t.Errorf("%s: %v, want INVALID_ARGUMENT", name, err)
		}
	}

	mixed := L.NewTable()
	mixed.RawSetInt(1, lua.LTrue)
	mixed.RawSetString("k", lua.LTrue)
	holes := L.NewTable()
	holes.RawSetInt(1, lua.LTrue)
	holes.RawSetInt(3, lua.LTrue)
	floatKey := L.NewTable()
	floatKey.RawSet(lua.LNumber(1.5), lua.LTrue)
	boolKey := L.NewTable()
	boolKey.RawSet(lua.LTrue, lua.LTrue)
	cyclic := L.NewTable()
	cyclic.RawSetString("self", cyclic)
	for name, lv := range map[string]lua.LValue{
		"mixed keys": mixed,
		"holes":      holes,
		"float key":  floatKey,
		"bool key":   boolKey,
		"cycle":      cyclic,
		"function":   L.NewFunction(func(*lua.LState) int { return 0 }),
		"userdata":   L.NewUserData(),
		"long":       lua.LString(strings.Repeat("x", 2000)),
	} {
		if _, err := newConverter(lim).fromLua(lv, 0); gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
			t.Errorf("%s: %v, want INVALID_ARGUMENT", name, err)
		}
	}
}

func TestScriptResultsThatCannotCross(t *testing.T) {
	p := startPool(t, Options{})
	patchNow(t, p, "mm", `
function fn() return function() end end
function many() return 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17 end
function mixed() return {1, k = 2} end`)
	for _, fn := range []string{"fn", "many", "mixed"} {
		_, _, err := p.Call(ctxT(t), "mm", fn)
		if err == nil || gamemesh.CodeOf(err) != gamemesh.CodeInternal || BudgetOf(err) != BudgetNone {
			t.Errorf("%s: %v, want a script error", fn, err)
		}
	}
}
