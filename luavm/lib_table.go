package luavm

import (
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// openTable builds the table library scripts get: gopher-lua's getn, insert,
// maxn, remove and sort, and our concat, which checks the result size before
// building it (one table.concat of a big table is one instruction, which the
// deadline cannot interrupt).
func (v *vm) openTable(real *lua.LTable) *lua.LTable {
	L := v.L
	t := L.NewTable()
	for _, name := range []string{"getn", "insert", "maxn", "remove", "sort"} {
		t.RawSetString(name, real.RawGetString(name))
	}
	t.RawSetString("concat", L.NewFunction(v.tableConcat))
	return t
}

func (v *vm) tableConcat(L *lua.LState) int {
	tbl := L.CheckTable(1)
	sep := L.OptString(2, "")
	i := L.OptInt(3, 1)
	j := L.OptInt(4, tbl.Len())
	if i > j {
		L.Push(lua.LString(""))
		return 1
	}
	size := 0
	for k := i; k <= j; k++ {
		switch e := tbl.RawGetInt(k).(type) {
		case lua.LString:
			size += len(e)
		case lua.LNumber:
			size += len(e.String())
		default:
			L.RaiseError("invalid value (at index %d) in table for 'concat'", k)
		}
		if k < j {
			size += len(sep)
		}
		if size > v.limits.MaxStringLen {
			L.RaiseError("table.concat result exceeds %d bytes", v.limits.MaxStringLen)
		}
	}
	var b strings.Builder
	b.Grow(size)
	for k := i; k <= j; k++ {
		b.WriteString(lua.LVAsString(tbl.RawGetInt(k)))
		if k < j {
			b.WriteString(sep)
		}
	}
	L.Push(lua.LString(b.String()))
	return 1
}
