package luavm

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

// runChunkTests runs each test_* function of src as a Lua test against an
// empty module, and returns the errors by test name.
func runChunkTests(t *testing.T, src string) map[string]error {
	t.Helper()
	b := bundleOf(t, "strtest", "-- empty module")
	proto, err := compile("strtest/cases_test.lua", src)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	names, err := luaTestNames(b, proto, log, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("no test_ function")
	}
	out := map[string]error{}
	for _, n := range names {
		out[n] = runLuaTest(b, proto, n, log, 100*time.Millisecond)
	}
	return out
}

// TestStringLibraryMatchesLua51 checks our find, match, gmatch, gsub and
// format against results of the reference Lua 5.1.
func TestStringLibraryMatchesLua51(t *testing.T) {
	const cases = `
local function pack(...) return {n = select("#", ...), ...} end

function test_find()
  expect.eq(pack(string.find("hello world", "wor")), pack(7, 9))
  expect.eq(pack(string.find("hello", "l+")), pack(3, 4))
  expect.eq(pack(string.find("hello", "(l)(l)")), pack(3, 4, "l", "l"))
  expect.eq(pack(string.find("a.b", ".", 1, true)), pack(2, 2))
  expect.eq(pack(string.find("a+b", "+", 1, true)), pack(2, 2))
  expect.eq(pack(string.find("abc", "b", -1)), pack(nil))
  expect.eq(pack(string.find("abc", "", 10)), pack(4, 3))
  expect.eq(pack(string.find("abc", "c", -1)), pack(3, 3))
  expect.eq(pack(("xyz"):find("y")), pack(2, 2))
end

function test_match()
  expect.eq(pack(string.match("key=val", "(%w+)=(%w+)")), pack("key", "val"))
  expect.eq(string.match("  trim  ", "^%s*(.-)%s*$"), "trim")
  expect.eq(pack(string.match("hello", "()ll()")), pack(3, 5))
  expect.eq(string.match("THE (quick) fox", "%((%a+)%)"), "quick")
  expect.eq(string.match("[[x]] y", "%b[]"), "[[x]]")
  expect.eq(string.match("THE (quick) fox", "%f[%a]%a+", 5), "quick")
  expect.eq(string.match("hello", ".-(l+)"), "ll")
  expect.eq(string.match("aaa", "a-b"), nil)
  expect.eq(string.match("aaab", "a-b"), "aaab")
  expect.eq(pack(string.match("2024-01-02", "(%d+)-(%d+)-(%d+)")), pack("2024", "01", "02"))
  expect.eq(pack(string.match("x = 10", "(%a)%s*=%s*(%d+)")), pack("x", "10"))
  expect.eq(string.match("abcabc", "(abc)%1"), "abc")
  expect.eq(string.match("a1B2", "[%l%d]+"), "a1")
  expect.eq(string.match("x]y", "[]x]+"), "x]")
  expect.eq(string.match("hello", "^(h?)ello$"), "h")
  expect.eq(string.match("A-Z", "[A%-Z]+"), "A-Z")
  expect.eq(string.match("tab\there", "%S+$"), "here")
end

function test_gmatch()
  local words = {}
  for w in string.gmatch("one two three", "%a+") do words[#words + 1] = w end
  expect.eq(words, {"one", "two", "three"})
  local kv = {}
  for k, v in ("a=1, b=2"):gmatch("(%w+)=(%w+)") do kv[k] = v end
  expect.eq(kv, {a = "1", b = "2"})
  local n = 0
  for _ in string.gmatch("abc", "") do n = n + 1 end
  expect.eq(n, 4)
end

function test_gsub()
  expect.eq(pack(string.gsub("hello world", "o", "0")), pack("hell0 w0rld", 2))
  expect.eq(pack(string.gsub("hello world", "(%w+)", "<%1>")), pack("<hello> <world>", 2))
  expect.eq(pack(string.gsub("abc", "%w", "%0%0")), pack("aabbcc", 3))
  expect.eq(pack(string.gsub("abc", "", "-")), pack("-a-b-c-", 4))
  expect.eq(pack(string.gsub("hello world", "%w+", {hello = "HI"})), pack("HI world", 2))
  expect.eq(pack(string.gsub("hello", "l", function(c) return nil end)), pack("hello", 2))
  expect.eq(pack(string.gsub("hello", "l", function(c) return c:upper() end)), pack("heLLo", 2))
  expect.eq(pack(string.gsub("abc", "b", 5)), pack("a5c", 1))
  expect.eq(pack(string.gsub("hello world", "o", "0", 1)), pack("hell0 world", 1))
  expect.eq(pack(string.gsub("xxx", "^x", "y")), pack("yxx", 1))
  expect.eq(pack(string.gsub("100%", "%%", " percent")), pack("100 percent", 1))
  expect.eq(pack(string.gsub("a b", "()", "%1")), pack("1a2 3b4", 4))
end

function test_pattern_errors()
  expect.error(function() string.find("x", "[a") end, "missing ']'")
  expect.error(function() string.find("x", "%") end, "ends with '%'")
  expect.error(function() string.match("x", "(x") end, "unfinished capture")
  expect.error(function() string.gsub("x", "x", "%2") end, "invalid capture index")
  expect.error(function() string.match("x", "x)") end, "invalid pattern capture")
  expect.error(function() string.gsub("x", "x", true) end, "string/function/table expected")
  expect.error(function() string.gsub("x", "x", function() return {} end) end, "invalid replacement value")
end

function test_format()
  expect.eq(string.format("%5.2f|%-5d|%05d|%x|%X|%o|%e|%g|%g", 3.14159, 42, 42, 255, 255, 8, 12345.678, 0.1, 1e20),
    " 3.14|42   |00042|ff|FF|10|1.234568e+04|0.1|1e+20")
  expect.eq(string.format("%q", 'a"b\n\0'), '"a\\"b\\\n\\000"')
  expect.eq(string.format("%s|%c|%%|%5s|%.1s|%d", "str", 65, "ab", "xyz", 3.7), "str|A|%|   ab|x|3")
  expect.eq(string.format("%s %s", 1, 2.5), "1 2.5")
  expect.eq(string.format("%g", 100000), "100000")
  expect.eq(string.format("%g", 1234567), "1.23457e+06")
  expect.error(function() string.format("%d") end, "no value")
  expect.error(function() string.format("%y", 1) end, "invalid option")
  expect.error(function() string.format("%123d", 1) end, "too long")
  expect.error(function() string.format("%------d", 1) end, "repeated flags")
end

function test_concat()
  expect.eq(table.concat({1, "a", 2.5}, ","), "1,a,2.5")
  expect.eq(table.concat({"a", "b", "c"}, "", 2, 3), "bc")
  expect.eq(table.concat({}, ","), "")
  expect.error(function() table.concat({1, {}, 3}) end, "invalid value (at index 2)")
end

-- A failing test must fail (checks the runner itself).
function test_runner_catches_failure()
  expect.eq(1, 2)
end
function test_runner_catches_loop()
  while true do end
end
`
	results := runChunkTests(t, cases)
	for name, err := range results {
		switch name {
		case "test_runner_catches_failure":
			if err == nil || !strings.Contains(err.Error(), "expected 2, got 1") {
				t.Errorf("%s: the runner did not report the failure: %v", name, err)
			}
		case "test_runner_catches_loop":
			if err == nil || !strings.Contains(err.Error(), "budget exceeded") {
				t.Errorf("%s: the runner did not stop the loop: %v", name, err)
			}
		default:
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
}
