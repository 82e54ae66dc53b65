package luavm

import (
	lua "github.com/yuin/gopher-lua"

	"github.com/gamemesh/gamemesh"
)

// Host API: effect. Scripts never write state: they return what should
// happen, and the Go side performs it through the function that owns the
// state (a grant goes through the mail or inventory function, with an
// idempotency key). These constructors build checked effect tables:
//
//	effect.grant("gold", 100)   --> {kind = "grant", item = "gold", count = 100}
//	effect.notice("Level 10!")  --> {kind = "notice", text = "Level 10!"}
//
// An item is 1-32 characters of [a-z0-9_]; a count is an integer in
// [1, 1e9]; a notice is 1-200 bytes.

const (
	maxGrantCount  = 1_000_000_000
	maxNoticeBytes = 200
)

func (v *vm) openEffect() *lua.LTable {
	L := v.L
	t := L.NewTable()
	t.RawSetString("grant", L.NewFunction(func(L *lua.LState) int {
		item := L.CheckString(1)
		count := L.CheckNumber(2)
		if !gamemesh.ValidItemID(item) {
			L.ArgError(1, "item must be 1-32 characters of [a-z0-9_]")
		}
		if float64(count) != float64(int64(count)) || count < 1 || count > maxGrantCount {
			L.ArgError(2, "count must be an integer in [1, 1e9]")
		}
		e := L.CreateTable(0, 3)
		e.RawSetString("kind", lua.LString("grant"))
		e.RawSetString("item", lua.LString(item))
		e.RawSetString("count", count)
		L.Push(e)
		return 1
	}))
	t.RawSetString("notice", L.NewFunction(func(L *lua.LState) int {
		text := L.CheckString(1)
		if text == "" || len(text) > maxNoticeBytes {
			L.ArgError(1, "notice must be 1-200 bytes")
		}
		e := L.CreateTable(0, 2)
		e.RawSetString("kind", lua.LString("notice"))
		e.RawSetString("text", lua.LString(text))
		L.Push(e)
		return 1
	}))
	return t
}
