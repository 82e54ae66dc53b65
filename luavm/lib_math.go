package luavm

import (
	"math/rand/v2"

	lua "github.com/yuin/gopher-lua"
)

// openMath builds the math library scripts get: gopher-lua's functions and
// constants, except random and randomseed (which use and reseed the
// process-wide generator), replaced by a random drawing from a generator
// seeded per VM. There is no randomseed.
func (v *vm) openMath(real *lua.LTable) *lua.LTable {
	L := v.L
	t := L.NewTable()
	real.ForEach(func(k, val lua.LValue) {
		if name, ok := k.(lua.LString); ok && name != "random" && name != "randomseed" {
			t.RawSetString(string(name), val)
		}
	})
	t.RawSetString("random", L.NewFunction(v.mathRandom))
	return t
}

// mathRandom is Lua 5.1's math.random: no argument → [0,1); m → [1,m];
// m, n → [m,n].
func (v *vm) mathRandom(L *lua.LState) int {
	switch L.GetTop() {
	case 0:
		L.Push(lua.LNumber(v.rng.Float64()))
	case 1:
		m := L.CheckInt64(1)
		if m < 1 {
			L.ArgError(1, "interval is empty")
		}
		L.Push(lua.LNumber(v.rng.Int64N(m) + 1))
	default:
		m, n := L.CheckInt64(1), L.CheckInt64(2)
		if m > n {
			L.ArgError(2, "interval is empty")
		}
		if n-m+1 <= 0 {
			L.ArgError(2, "interval is too large")
		}
		L.Push(lua.LNumber(m + v.rng.Int64N(n-m+1)))
	}
	return 1
}

func newRNG() *rand.Rand { return rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())) }
