package luavm

import (
	"fmt"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// strFormat is string.format with Lua 5.1's rules (flags "-+ #0", width and
// precision of at most two digits each, conversions c d i o u x X e E f g G q
// s), formatting one directive at a time — gopher-lua hands the whole format
// to fmt.Sprintf, so "%999999999d" would allocate a gigabyte — and capping
// the result at MaxStringLen.
func (v *vm) strFormat(L *lua.LState) int {
	f := L.CheckString(1)
	top := L.GetTop()
	arg := 1
	var out strings.Builder
	add := func(s string) {
		if out.Len()+len(s) > v.limits.MaxStringLen {
			L.RaiseError("string.format result exceeds %d bytes", v.limits.MaxStringLen)
		}
		out.WriteString(s)
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' {
			if out.Len() >= v.limits.MaxStringLen {
				L.RaiseError("string.format result exceeds %d bytes", v.limits.MaxStringLen)
			}
			out.WriteByte(c)
			continue
		}
		i++
		if i < len(f) && f[i] == '%' {
			out.WriteByte('%')
			continue
		}
		arg++
		if arg > top {
			L.ArgError(arg, "no value")
		}
		start := i
		for i < len(f) && strings.IndexByte("-+ #0", f[i]) >= 0 {
			i++
		}
		if i-start > 5 {
			L.RaiseError("invalid format (repeated flags)")
		}
		for k := 0; k < 2 && i < len(f) && isDigit(f[i]); k++ {
			i++
		}
		hasPrec := false
		if i < len(f) && f[i] == '.' {
			hasPrec = true
			i++
			for k := 0; k < 2 && i < len(f) && isDigit(f[i]); k++ {
				i++
			}
		}
		if i < len(f) && isDigit(f[i]) {
			L.RaiseError("invalid format (width or precision too long)")
		}
		if i >= len(f) {
			L.RaiseError("invalid option '%%' at the end of the format")
		}
		spec := "%" + f[start:i]
		switch conv := f[i]; conv {
		case 'c':
			add(fmt.Sprintf(spec+"s", string([]byte{byte(L.CheckInt(arg))})))
		case 'd', 'i':
			add(fmt.Sprintf(spec+"d", int64(L.CheckNumber(arg))))
		case 'o', 'x', 'X':
			add(fmt.Sprintf(spec+string(conv), uint64(int64(L.CheckNumber(arg)))))
		case 'u':
			add(fmt.Sprintf(spec+"d", uint64(int64(L.CheckNumber(arg)))))
		case 'e', 'E', 'f':
			add(fmt.Sprintf(spec+string(conv), float64(L.CheckNumber(arg))))
		case 'g', 'G':
			if !hasPrec {
				spec += ".6" // C's default precision; Go's %g would print the shortest form
			}
			add(fmt.Sprintf(spec+string(conv), float64(L.CheckNumber(arg))))
		case 'q':
			add(quoteLua(L.CheckString(arg)))
		case 's':
			s := lua.LVAsString(L.ToStringMeta(L.Get(arg)))
			if !hasPrec && len(s) >= 100 {
				add(s) // as Lua: no formatting of long strings
			} else {
				add(fmt.Sprintf(spec+"s", s))
			}
		default:
			L.RaiseError("invalid option '%%%c' to 'format'", conv)
		}
	}
	L.Push(lua.LString(out.String()))
	return 1
}

// quoteLua is %q: a string Lua can read back.
func quoteLua(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString("\\\n")
		case '\r':
			b.WriteString("\\r")
		case 0:
			b.WriteString("\\000")
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
