package luavm

import (
	"log/slog"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// pcall is Lua's pcall, except that an error meaning "this VM is done" (a
// budget hit: deadline, CPU, call stack, registry; or a Go panic) is raised
// again instead of returned, so a script cannot catch its way past a budget.
func (v *vm) pcall(L *lua.LState) int {
	L.CheckAny(1)
	if f := L.Get(1); f.Type() != lua.LTFunction && L.GetMetaField(f, "__call").Type() != lua.LTFunction {
		L.Push(lua.LFalse)
		L.Push(lua.LString("attempt to call a " + f.Type().String() + " value"))
		return 2
	}
	if err := L.PCall(L.GetTop()-1, lua.MultRet, nil); err != nil {
		v.rethrowFatal(L, err)
		L.Push(lua.LFalse)
		L.Push(errorObject(err))
		return 2
	}
	L.Insert(lua.LTrue, 1)
	return L.GetTop()
}

// xpcall is Lua's xpcall with pcall's rule for fatal errors. The handler runs
// after the stack is unwound (there is no debug library to inspect it).
func (v *vm) xpcall(L *lua.LState) int {
	fn := L.CheckFunction(1)
	handler := L.CheckFunction(2)
	top := L.GetTop()
	L.Push(fn)
	if err := L.PCall(0, lua.MultRet, nil); err != nil {
		v.rethrowFatal(L, err)
		L.SetTop(top)
		L.Push(handler)
		L.Push(errorObject(err))
		L.Call(1, 1)
		L.Insert(lua.LFalse, L.GetTop())
		return 2
	}
	L.Insert(lua.LTrue, top+1)
	return L.GetTop() - top
}

func (v *vm) rethrowFatal(L *lua.LState, err error) {
	if b := v.fatal(err); b != BudgetNone {
		if v.poison == BudgetNone {
			v.poison = b
		}
		L.Error(errorObject(err), 0)
	}
}

func errorObject(err error) lua.LValue {
	if aerr, ok := err.(*lua.ApiError); ok {
		return aerr.Object
	}
	return lua.LString(err.Error())
}

// getmetatable returns a table's metatable (or its __metatable field), and
// nil for anything that is not a table: the shared string metatable is not
// reachable.
func (v *vm) getmetatable(L *lua.LState) int {
	t, ok := L.CheckAny(1).(*lua.LTable)
	if !ok {
		L.Push(lua.LNil)
		return 1
	}
	mt, ok := t.Metatable.(*lua.LTable)
	if !ok {
		L.Push(lua.LNil)
		return 1
	}
	if p := mt.RawGetString("__metatable"); p != lua.LNil {
		L.Push(p)
		return 1
	}
	L.Push(mt)
	return 1
}

// setmetatable sets the metatable of a table the script made; a protected
// metatable (libraries, environments, anything with __metatable) cannot be
// replaced, and only tables accept one.
func (v *vm) setmetatable(L *lua.LState) int {
	t := L.CheckTable(1)
	mt := L.Get(2)
	if mt.Type() != lua.LTNil && mt.Type() != lua.LTTable {
		L.ArgError(2, "nil or table expected")
	}
	if cur, ok := t.Metatable.(*lua.LTable); ok && cur.RawGetString("__metatable") != lua.LNil {
		L.RaiseError("cannot change a protected metatable")
	}
	L.SetMetatable(t, mt)
	L.Push(t)
	return 1
}

// print writes its arguments to the host log at info level.
func (v *vm) print(L *lua.LState) int {
	parts := make([]string, L.GetTop())
	for i := range parts {
		parts[i] = lua.LVAsString(L.ToStringMeta(L.Get(i + 1)))
	}
	v.logLine(slog.LevelInfo, strings.Join(parts, "\t"), nil)
	return 0
}
