package luavm

import (
	lua "github.com/yuin/gopher-lua"
)

// Host API: event. The event a call is about arrives as a plain table
// argument; these accessors read its fields with a type check and a clear
// error, so a malformed event fails the call instead of misbehaving:
//
//	event.kind(e)                   -- e.kind, a non-empty string (error otherwise)
//	event.number(e, "count", 1)     -- a number, the default when absent
//	event.integer(e, "level", 0)    -- an integral number
//	event.string(e, "item", "")     -- a string
//	event.bool(e, "first", false)   -- a boolean
//
// Without a default, an absent field is an error.

func (v *vm) openEvent() *lua.LTable {
	L := v.L
	t := L.NewTable()
	t.RawSetString("kind", L.NewFunction(func(L *lua.LState) int {
		e := L.CheckTable(1)
		k, ok := e.RawGetString("kind").(lua.LString)
		if !ok || k == "" {
			L.RaiseError("event has no kind")
		}
		L.Push(k)
		return 1
	}))
	t.RawSetString("number", L.NewFunction(eventField(lua.LTNumber, false)))
	t.RawSetString("integer", L.NewFunction(eventField(lua.LTNumber, true)))
	t.RawSetString("string", L.NewFunction(eventField(lua.LTString, false)))
	t.RawSetString("bool", L.NewFunction(eventField(lua.LTBool, false)))
	return t
}

func eventField(want lua.LValueType, integral bool) lua.LGFunction {
	return func(L *lua.LState) int {
		e := L.CheckTable(1)
		name := L.CheckString(2)
		val := e.RawGetString(name)
		if val == lua.LNil {
			if L.GetTop() < 3 {
				L.RaiseError("event field %q is missing", name)
			}
			L.Push(L.Get(3))
			return 1
		}
		if val.Type() != want {
			L.RaiseError("event field %q must be a %s, got a %s", name, want, val.Type())
		}
		if n, ok := val.(lua.LNumber); ok && integral && float64(n) != float64(int64(n)) {
			L.RaiseError("event field %q must be an integer, got %s", name, n)
		}
		L.Push(val)
		return 1
	}
}
