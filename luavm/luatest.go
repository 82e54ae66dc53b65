package luavm

import (
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// luaTestTimeout is the wall budget of one Lua test function (and of loading
// the module for it); its CPU budget is the same.
const luaTestTimeout = 5 * time.Second

// RunLuaTests runs the Lua tests of the module folder dir, or of every module
// folder under dir: each *_test.lua file is loaded after the module's scripts,
// in the module's sandboxed environment, and each of its global functions
// named test_* runs as a subtest (module/file/test) in a fresh VM, on a
// goroutine locked to its thread, under the default budgets (with a 5 s call
// timeout). A test fails when it raises an error. Tests get an expect table:
//
//	expect.eq(got, want [, msg])     -- equal; tables are compared deeply
//	expect.truthy(v [, msg]), expect.falsy(v [, msg])
//	expect.near(got, want, eps [, msg])
//	expect.error(fn [, substring])   -- fn() must raise (an error containing substring)
//
// A module that does not compile, or a test file that does not, fails the test.
func RunLuaTests(t *testing.T, dir string) {
	t.Helper()
	dirs := []string{dir}
	if files, _ := filepath.Glob(filepath.Join(dir, "*.lua")); len(files) == 0 {
		var err error
		if dirs, err = moduleDirs(dir); err != nil {
			t.Fatalf("lua tests: %v", err)
		}
	}
	ran := 0
	for _, d := range dirs {
		ran += runModuleTests(t, d)
	}
	if ran == 0 {
		t.Logf("no Lua tests under %s", dir)
	}
}

func runModuleTests(t *testing.T, dir string) int {
	t.Helper()
	scripts, tests, err := readModuleDir(dir)
	if err != nil {
		t.Fatalf("lua tests: %v", err)
	}
	module := filepath.Base(dir)
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b, err := NewBundle(module, scripts)
	if err != nil {
		t.Fatalf("lua tests: module %s: %v", module, err)
	}
	n := 0
	for _, tf := range tests {
		proto, err := compile(module+"/"+tf.Name, tf.Source)
		if err != nil {
			t.Errorf("lua tests: %v", err)
			continue
		}
		names, err := luaTestNames(b, proto, log, luaTestTimeout)
		if err != nil {
			t.Errorf("lua tests: loading %s/%s: %v", module, tf.Name, err)
			continue
		}
		for _, name := range names {
			n++
			t.Run(module+"/"+strings.TrimSuffix(tf.Name, ".lua")+"/"+name, func(t *testing.T) {
				log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
				if err := runLuaTest(b, proto, name, log, luaTestTimeout); err != nil {
					t.Error(err)
				}
			})
		}
	}
	return n
}

// testVM runs fn with a VM holding b plus the test chunk, on a locked thread.
func testVM(b *Bundle, test *lua.FunctionProto, log *slog.Logger, timeout time.Duration, fn func(v *vm) error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		lim := DefaultLimits()
		lim.CallTimeout, lim.CPUTime = timeout, timeout
		bud := newBudget()
		defer bud.close()
		info := Generation{Module: b.module, Hash: b.hash, Source: "lua test"}
		v := newVM(info, lim, bud, hostEnv{log: log.With("module", b.module)})
		defer v.close()
		v.installExpect()
		errc <- func() error {
			now := time.Now()
			bud.begin(now, now.Add(lim.CallTimeout), lim.CPUTime)
			err := v.load(b.protos, test)
			if hit := bud.end(); hit != BudgetNone {
				return fmt.Errorf("loading: %s budget exceeded: %v", hit, err)
			}
			if err != nil {
				return err
			}
			return fn(v)
		}()
	}()
	return <-errc
}

// luaTestNames lists the test_* functions a test file defines.
func luaTestNames(b *Bundle, test *lua.FunctionProto, log *slog.Logger, timeout time.Duration) ([]string, error) {
	var names []string
	err := testVM(b, test, log, timeout, func(v *vm) error {
		for name := range v.fns {
			if strings.HasPrefix(name, "test_") {
				names = append(names, name)
			}
		}
		return nil
	})
	sort.Strings(names)
	return names, err
}

func runLuaTest(b *Bundle, test *lua.FunctionProto, name string, log *slog.Logger, timeout time.Duration) error {
	return testVM(b, test, log, timeout, func(v *vm) error {
		now := time.Now()
		v.budget.begin(now, now.Add(timeout), timeout)
		_, err := v.call(name, nil)
		if hit := v.budget.end(); hit != BudgetNone {
			return fmt.Errorf("%s: %s budget exceeded: %v", name, hit, err)
		}
		if err != nil {
			return fmt.Errorf("%s", errText(err))
		}
		return nil
	})
}

// installExpect defines the global expect in the module environment (before
// load freezes it).
func (v *vm) installExpect() {
	L := v.L
	t := L.NewTable()
	t.RawSetString("eq", L.NewFunction(expectEq))
	t.RawSetString("truthy", L.NewFunction(func(L *lua.LState) int {
		if !lua.LVAsBool(L.Get(1)) {
			L.RaiseError("expected a true value, got %s%s", luaRepr(L.Get(1), 0), msgSuffix(L, 2))
		}
		return 0
	}))
	t.RawSetString("falsy", L.NewFunction(func(L *lua.LState) int {
		if lua.LVAsBool(L.Get(1)) {
			L.RaiseError("expected a false value, got %s%s", luaRepr(L.Get(1), 0), msgSuffix(L, 2))
		}
		return 0
	}))
	t.RawSetString("near", L.NewFunction(func(L *lua.LState) int {
		got, want, eps := L.CheckNumber(1), L.CheckNumber(2), L.CheckNumber(3)
		if math.Abs(float64(got-want)) > float64(eps) {
			L.RaiseError("expected %v ± %v, got %v%s", want, eps, got, msgSuffix(L, 4))
		}
		return 0
	}))
	t.RawSetString("error", L.NewFunction(func(L *lua.LState) int {
		fn := L.CheckFunction(1)
		sub := L.OptString(2, "")
		L.Push(fn)
		err := L.PCall(0, 0, nil)
		if err == nil {
			L.RaiseError("expected an error")
		}
		v.rethrowFatal(L, err)
		if msg := lua.LVAsString(errorObject(err)); !strings.Contains(msg, sub) {
			L.RaiseError("expected an error containing %q, got %q", sub, msg)
		}
		return 0
	}))
	v.env.RawSetString("expect", v.readOnly("expect", t))
}

func msgSuffix(L *lua.LState, i int) string {
	if s, ok := L.Get(i).(lua.LString); ok {
		return " (" + string(s) + ")"
	}
	return ""
}

func expectEq(L *lua.LState) int {
	got, want := L.Get(1), L.Get(2)
	if !luaDeepEqual(got, want, 0) {
		L.RaiseError("expected %s, got %s%s", luaRepr(want, 0), luaRepr(got, 0), msgSuffix(L, 3))
	}
	return 0
}

func luaDeepEqual(a, b lua.LValue, depth int) bool {
	ta, oka := a.(*lua.LTable)
	tb, okb := b.(*lua.LTable)
	if !oka || !okb {
		return a == b || a.Type() == b.Type() && a.Type() == lua.LTNumber && a.(lua.LNumber) == b.(lua.LNumber)
	}
	if ta == tb {
		return true
	}
	if depth > 32 {
		return false
	}
	equal := true
	n := 0
	ta.ForEach(func(k, va lua.LValue) {
		n++
		if equal && !luaDeepEqual(va, tb.RawGet(k), depth+1) {
			equal = false
		}
	})
	tb.ForEach(func(lua.LValue, lua.LValue) { n-- })
	return equal && n == 0
}

// luaRepr renders a value for test messages (tables sorted, depth-capped).
func luaRepr(v lua.LValue, depth int) string {
	switch x := v.(type) {
	case lua.LString:
		return fmt.Sprintf("%q", string(x))
	case *lua.LTable:
		if depth > 4 {
			return "{…}"
		}
		var parts []string
		x.ForEach(func(k, val lua.LValue) {
			parts = append(parts, "["+luaRepr(k, depth+1)+"]="+luaRepr(val, depth+1))
		})
		sort.Strings(parts)
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return v.String()
}

// testWriter sends the script logs of a Lua test to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
