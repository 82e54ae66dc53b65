package luavm

import (
	"sync"

	lua "github.com/yuin/gopher-lua"
)

// The sandbox (built per VM, see newVM):
//
//   - Libraries: gopher-lua's base, table, string and math are opened, then
//     copied by allowlist into fresh tables; the scripts' global table is a
//     new one. Nothing else is opened: no os, io, debug, package, coroutine or
//     channel.
//   - Base: assert, error, ipairs, next, pairs, select, tonumber, tostring,
//     type, unpack, _VERSION; pcall, xpcall, getmetatable, setmetatable and
//     print are our own (sandbox_base.go). Absent: load, loadstring, dofile,
//     loadfile, require, module, collectgarbage, rawget, rawset, rawequal,
//     getfenv, setfenv, newproxy, _G.
//   - string: see lib_string.go (no rep, dump, gfind). The metatable all
//     strings share is a new, locked table whose __index is the safe string
//     table, so ("x"):rep is nil too.
//   - table: concat is ours (size-checked); math: random is per VM, no
//     randomseed.
//   - Every library and host table is a read-only proxy (writes raise;
//     getmetatable returns "locked"), and the global table itself is
//     reachable only through the module environment's __index.
//   - Scripts run in a module environment; after loading, the environment is
//     frozen (see vm.load).
//
// Lua's lua.MaxArrayIndex is lowered once (maxArrayIndex) so that t[1e7]=1
// does not allocate a ten-million-slot array in one instruction.

// safeBase lists the base functions copied as they are.
var safeBase = []string{"assert", "error", "ipairs", "next", "pairs", "select", "tonumber", "tostring", "type", "unpack", "_VERSION"}

// maxArrayIndex: integer keys at or above it go to a table's hash part.
const maxArrayIndex = 1 << 16

var tuneLua sync.Once

// tune sets gopher-lua's process-wide settings once, before any LState of
// this package is used (only luavm imports gopher-lua).
func tune() { tuneLua.Do(func() { lua.MaxArrayIndex = maxArrayIndex }) }

func (v *vm) sandbox() *lua.LTable {
	tune()
	L := v.L
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString}, {lua.MathLibName, lua.OpenMath}} {
		L.Push(L.NewFunction(lib.open))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	real := L.G.Global
	g := L.NewTable()
	for _, name := range safeBase {
		g.RawSetString(name, real.RawGetString(name))
	}
	g.RawSetString("pcall", L.NewFunction(v.pcall))
	g.RawSetString("xpcall", L.NewFunction(v.xpcall))
	g.RawSetString("getmetatable", L.NewFunction(v.getmetatable))
	g.RawSetString("setmetatable", L.NewFunction(v.setmetatable))
	g.RawSetString("print", L.NewFunction(v.print))

	str := v.openString(real.RawGetString(lua.StringLibName).(*lua.LTable))
	L.SetMetatable(lua.LString(""), v.lockedMeta(str, nil))
	g.RawSetString("string", v.readOnly("string", str))
	g.RawSetString("table", v.readOnly("table", v.openTable(real.RawGetString(lua.TabLibName).(*lua.LTable))))
	g.RawSetString("math", v.readOnly("math", v.openMath(real.RawGetString(lua.MathLibName).(*lua.LTable))))
	g.RawSetString("log", v.readOnly("log", v.openLog()))
	g.RawSetString("event", v.readOnly("event", v.openEvent()))
	g.RawSetString("config", v.readOnly("config", v.openConfig()))
	g.RawSetString("effect", v.readOnly("effect", v.openEffect()))

	// Empty the table gopher-lua opened the libraries into: nothing refers
	// to it that scripts can reach, and now nothing dangerous is left in it.
	var keys []lua.LValue
	real.ForEach(func(k, _ lua.LValue) { keys = append(keys, k) })
	for _, k := range keys {
		real.RawSet(k, lua.LNil)
	}
	return g
}

// lockedMeta returns a metatable with the given __index and __newindex that
// getmetatable does not reveal and setmetatable cannot replace.
func (v *vm) lockedMeta(index lua.LValue, newindex lua.LValue) *lua.LTable {
	mt := v.L.NewTable()
	if index != nil {
		mt.RawSetString("__index", index)
	}
	if newindex != nil {
		mt.RawSetString("__newindex", newindex)
	}
	mt.RawSetString("__metatable", lua.LString("locked"))
	return mt
}

// readOnly returns an empty proxy that reads from backing and refuses writes.
func (v *vm) readOnly(name string, backing *lua.LTable) *lua.LTable {
	L := v.L
	proxy := L.NewTable()
	L.SetMetatable(proxy, v.lockedMeta(backing, L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("library %s is read-only (cannot set %q)", name, lua.LVAsString(L.Get(2)))
		return 0
	})))
	return proxy
}
