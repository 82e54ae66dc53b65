package luavm

import (
	lua "github.com/yuin/gopher-lua"
)

// Host API: config. The host publishes named configuration tables with
// Pool.SetConfig (live: the next call sees the new value); scripts read them:
//
//	local cfg = config.get("achievement") or {}
//	local tiers = config.get("achievement", {kill_tiers = {10, 100}}).kill_tiers
//
// get returns a fresh copy (changing it changes nothing outside the call), or
// the default (nil if none) when the host has no such table.

func (v *vm) openConfig() *lua.LTable {
	L := v.L
	t := L.NewTable()
	t.RawSetString("get", L.NewFunction(func(L *lua.LState) int {
		name := L.CheckString(1)
		if v.host.config == nil {
			L.Push(L.Get(2))
			return 1
		}
		val, ok := v.host.config(name)
		if !ok {
			L.Push(L.Get(2))
			return 1
		}
		lv, err := newConverter(v.limits).toLua(L, val, 0)
		if err != nil {
			L.RaiseError("config %q: %s", name, err)
		}
		L.Push(lv)
		return 1
	}))
	return t
}
