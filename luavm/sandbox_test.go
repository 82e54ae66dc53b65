package luavm

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
)

// escapeModule defines one function per escape attempt. Each either returns
// a value the test checks or raises an error the test expects.
const escapeModule = `
-- Load-time tampering only shadows names in this module's environment.
string_shadow = "shadowed"

function absent()
  local found = {}
  local names = {"os", "io", "debug", "package", "coroutine", "require", "load", "loadstring", "dofile",
    "loadfile", "collectgarbage", "rawget", "rawset", "rawequal", "getfenv", "setfenv", "module",
    "newproxy", "_G", "channel", "gcinfo", "_GOPHER_LUA_VERSION"}
  local env_reads = {os = os, io = io, debug = debug, package = package, coroutine = coroutine,
    require = require, load = load, loadstring = loadstring, dofile = dofile, loadfile = loadfile,
    collectgarbage = collectgarbage, rawget = rawget, rawset = rawset, rawequal = rawequal,
    getfenv = getfenv, setfenv = setfenv, module = module, newproxy = newproxy, _G = _G,
    channel = channel, gcinfo = gcinfo, _GOPHER_LUA_VERSION = _GOPHER_LUA_VERSION}
  for _, n in ipairs(names) do
    if env_reads[n] ~= nil then found[#found + 1] = n end
  end
  if string.rep ~= nil then found[#found + 1] = "string.rep" end
  if string.dump ~= nil then found[#found + 1] = "string.dump" end
  if string.gfind ~= nil then found[#found + 1] = "string.gfind" end
  if ("x").rep ~= nil then found[#found + 1] = "(''):rep" end
  if ("x").dump ~= nil then found[#found + 1] = "(''):dump" end
  if math.randomseed ~= nil then found[#found + 1] = "math.randomseed" end
  if next(string) ~= nil then found[#found + 1] = "next(string)" end
  return table.concat(found, ",")
end

function os_exit() os.exit(1) end
function io_open() return io.open("/etc/passwd") end
function debug_registry() return debug.getregistry() end
function require_file() return require("os") end
function load_code() return load("return 1")() end
function loadstring_code() return loadstring("return 1")() end
function dofile_code() return dofile("/etc/passwd") end
function coroutine_abuse() local co = coroutine.create(function() while true do coroutine.yield() end end) return co end
function string_meta() return getmetatable("") end
function string_meta_index() return getmetatable("").__index end
function string_meta_set() return setmetatable("", {}) end
function string_write() string.find = function() return 1 end end
function string_new_key() string.evil = 1 end
function math_write() math.random = function() return 4 end end
function table_write() table.insert = nil end
function log_write() log.info = nil end
function lib_meta() return getmetatable(string) end
function lib_setmeta() return setmetatable(string, {__index = function() return "pwned" end}) end
function lib_setmeta_math() setmetatable(math, nil) end
function rawset_g() rawset(_G, "x", 1) end
function global_write() x = 1 end
function g_replace() _G = {} end
function string_replace() string = {} end
function rep_via_meta() return ("x"):rep(1e9) end
function rep_via_index() local s = "x" return s.rep(s, 1e9) end
function gsub_huge_pattern()
  local p = ""
  for i = 1, 300 do p = p .. "a" end
  return string.gsub("aaa", p, "")
end
function find_huge_subject()
  local s = "x"
  for i = 1, 17 do s = s .. s end
  return string.find(s, "y")
end
function format_width() return string.format("%999d", 1) end
function format_bomb()
  local s = "x"
  for i = 1, 17 do s = s .. s end
  return string.format("%s%s%s", s, s, s)
end
function concat_bomb()
  local s = "x"
  for i = 1, 16 do s = s .. s end
  local t = {}
  for i = 1, 10 do t[i] = s end
  return table.concat(t)
end
function gsub_output_bomb()
  local s = "x"
  for i = 1, 14 do s = s .. s end
  return string.gsub(s, "x", "%0%0%0%0%0%0%0%0%0%0%0%0%0%0%0%0%0%0%0%0")
end
function shadow_is_local() return string_shadow, type(string.find), ("abc"):upper() end
function sparse_array() local t = {} t[60000000] = true t[65535] = true return #t >= 0 end
function metatable_own()
  local t = setmetatable({}, {__index = function(_, k) return k .. "!" end})
  local mt = getmetatable(t)
  return t.hi, type(mt)
end
function protected_own()
  local t = setmetatable({}, {__metatable = "mine"})
  local ok = pcall(setmetatable, t, {})
  return getmetatable(t), ok
end
function random_range() local r = math.random(1, 6) return r >= 1 and r <= 6 end
function random_bad() return math.random(0) end
`

func TestSandboxEscapes(t *testing.T) {
	// Generous time budgets: these calls must fail on the sandbox's own
	// checks, not on a slow (race-instrumented, shared) machine.
	p := startPool(t, Options{Limits: Limits{CallTimeout: 5 * time.Second, CPUTime: 5 * time.Second}})
	patchNow(t, p, "esc", escapeModule)
	ctx := ctxT(t)

	vals, _, err := p.Call(ctx, "esc", "absent")
	if err != nil {
		t.Fatalf("absent: %v", err)
	}
	if vals[0] != "" {
		t.Errorf("reachable from a script: %v", vals[0])
	}

	fails := map[string]string{
		"os_exit":           "attempt to index a non-table object(nil)",
		"io_open":           "nil",
		"debug_registry":    "nil",
		"require_file":      "attempt to call a non-function object",
		"load_code":         "attempt to call a non-function object",
		"loadstring_code":   "attempt to call a non-function object",
		"dofile_code":       "attempt to call a non-function object",
		"coroutine_abuse":   "nil",
		"string_meta_index": "nil",
		"string_meta_set":   "table expected",
		"string_write":      "read-only",
		"string_new_key":    "read-only",
		"math_write":        "read-only",
		"table_write":       "read-only",
		"log_write":         "read-only",
		"lib_setmeta":       "protected metatable",
		"lib_setmeta_math":  "protected metatable",
		"rawset_g":          "attempt to call a non-function object",
		"global_write":      "read-only",
		"g_replace":         "read-only",
		"string_replace":    "read-only",
		"rep_via_meta":      "attempt to call a non-function object",
		"rep_via_index":     "attempt to call a non-function object",
		"gsub_huge_pattern": "pattern of 300 bytes exceeds",
		"find_huge_subject": "pattern subject of 131072 bytes exceeds",
		"format_width":      "width or precision too long",
		"format_bomb":       "string.format result exceeds",
		"concat_bomb":       "table.concat result exceeds",
		"gsub_output_bomb":  "string.gsub result exceeds",
		"random_bad":        "interval is empty",
	}
	for fn, want := range fails {
		t.Run(fn, func(t *testing.T) {
			vals, gen, err := p.Call(ctx, "esc", fn)
			if err == nil {
				t.Fatalf("%s succeeded with %v; want an error containing %q", fn, vals, want)
			}
			if gamemesh.CodeOf(err) != gamemesh.CodeInternal {
				t.Errorf("%s: code %v, want INTERNAL (a script error): %v", fn, gamemesh.CodeOf(err), err)
			}
			if !strings.Contains(errText(err), want) {
				t.Errorf("%s: error %q does not contain %q", fn, errText(err), want)
			}
			if BudgetOf(err) != BudgetNone {
				t.Errorf("%s: a plain sandbox refusal must not be a budget hit: %v", fn, err)
			}
			if gen.Number != 1 {
				t.Errorf("%s: answered by %v", fn, gen)
			}
		})
	}

	check := func(fn string, want ...any) {
		t.Helper()
		vals, _, err := p.Call(ctx, "esc", fn)
		if err != nil {
			t.Errorf("%s: %v", fn, err)
			return
		}
		for i, w := range want {
			if i >= len(vals) || vals[i] != w {
				t.Errorf("%s: got %v, want %v", fn, vals, want)
				return
			}
		}
	}
	check("string_meta", nil)
	check("lib_meta", "locked")
	check("shadow_is_local", "shadowed", "function", "ABC")
	check("sparse_array", true)
	check("metatable_own", "hi!", "table")
	check("protected_own", "mine", false)
	check("random_range", true)

	// Nothing above changed the VM for the next call, nor killed it.
	if s := p.Stats(); s.Modules["esc"][0].BudgetKills != 0 {
		t.Errorf("budget kills = %d, want 0", s.Modules["esc"][0].BudgetKills)
	}
	check("absent", "")
}

// TestSparseIndexDoesNotAllocate: t[60000000] = true is one instruction;
// gopher-lua would grow the array part to 60 M slots (~1 GiB) for it.
func TestSparseIndexDoesNotAllocate(t *testing.T) {
	p := startPool(t, Options{})
	patchNow(t, p, "sparse", `function f() local t = {} t[60000000] = true t[65535] = true return t[60000000] end`)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	vals, _, err := p.Call(ctxT(t), "sparse", "f")
	runtime.ReadMemStats(&after)
	if err != nil || vals[0] != true {
		t.Fatalf("f: %v %v", vals, err)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 32<<20 {
		t.Errorf("a sparse index allocated %d MiB", d>>20)
	}
}
