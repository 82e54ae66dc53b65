package luavm

import (
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// The string library scripts get: gopher-lua's byte, char, len, lower,
// reverse, sub and upper, plus our own find, match, gmatch, gsub (budgeted
// matcher, capped subject and pattern, capped output) and format (capped width
// and output). rep, dump and gfind are absent — from the table scripts see and
// from the metatable strings share, which is not the library table itself.

// openString builds the safe string table from the library gopher-lua opened.
func (v *vm) openString(real *lua.LTable) *lua.LTable {
	L := v.L
	t := L.NewTable()
	for _, name := range []string{"byte", "char", "len", "lower", "reverse", "sub", "upper"} {
		t.RawSetString(name, real.RawGetString(name))
	}
	t.RawSetString("find", L.NewFunction(v.strFind))
	t.RawSetString("match", L.NewFunction(v.strMatch))
	t.RawSetString("gmatch", L.NewFunction(v.strGmatch))
	t.RawSetString("gsub", L.NewFunction(v.strGsub))
	t.RawSetString("format", L.NewFunction(v.strFormat))
	return t
}

// patternArgs checks and returns the subject and pattern of a pattern call.
func (v *vm) patternArgs(L *lua.LState) (string, string) {
	s := L.CheckString(1)
	p := L.CheckString(2)
	if len(s) > v.limits.MaxPatternSubject {
		L.RaiseError("pattern subject of %d bytes exceeds the limit of %d", len(s), v.limits.MaxPatternSubject)
	}
	if len(p) > v.limits.MaxPattern {
		L.RaiseError("pattern of %d bytes exceeds the limit of %d", len(p), v.limits.MaxPattern)
	}
	return s, p
}

// posRelat converts a relative string position (negative means from the end).
func posRelat(pos, n int) int {
	if pos < 0 {
		pos += n + 1
	}
	if pos < 0 {
		return 0
	}
	return pos
}

func (v *vm) strFind(L *lua.LState) int  { return v.findAux(L, true) }
func (v *vm) strMatch(L *lua.LState) int { return v.findAux(L, false) }

func (v *vm) findAux(L *lua.LState, find bool) int {
	s, p := v.patternArgs(L)
	init := posRelat(L.OptInt(3, 1), len(s)) - 1
	if init < 0 {
		init = 0
	} else if init > len(s) {
		init = len(s)
	}
	if find && (lua.LVAsBool(L.Get(4)) || !strings.ContainsAny(p, patSpecials)) {
		if i := strings.Index(s[init:], p); i >= 0 {
			L.Push(lua.LNumber(init + i + 1))
			L.Push(lua.LNumber(init + i + len(p)))
			return 2
		}
		L.Push(lua.LNil)
		return 1
	}
	ms := &matchState{L: L, b: v.budget, src: s, pat: p}
	anchor := len(p) > 0 && p[0] == '^'
	pstart := 0
	if anchor {
		pstart = 1
	}
	for s1 := init; ; s1++ {
		ms.level = 0
		if e := ms.match(s1, pstart); e != -1 {
			if find {
				L.Push(lua.LNumber(s1 + 1))
				L.Push(lua.LNumber(e))
				return ms.pushCaptures(-1, -1, false) + 2
			}
			return ms.pushCaptures(s1, e, true)
		}
		if s1 >= len(s) || anchor {
			break
		}
	}
	L.Push(lua.LNil)
	return 1
}

func (v *vm) strGmatch(L *lua.LState) int {
	s, p := v.patternArgs(L)
	pos := 0
	L.Push(L.NewFunction(func(L *lua.LState) int {
		ms := &matchState{L: L, b: v.budget, src: s, pat: p}
		for src := pos; src <= len(s); src++ {
			ms.level = 0
			if e := ms.match(src, 0); e != -1 {
				pos = e
				if e == src {
					pos++
				}
				return ms.pushCaptures(src, e, true)
			}
		}
		pos = len(s) + 1
		return 0
	}))
	return 1
}

func (v *vm) strGsub(L *lua.LState) int {
	src, p := v.patternArgs(L)
	repl := L.Get(3)
	switch repl.Type() {
	case lua.LTNumber, lua.LTString, lua.LTFunction, lua.LTTable:
	default:
		L.ArgError(3, "string/function/table expected")
	}
	maxN := L.OptInt(4, len(src)+1)
	anchor := len(p) > 0 && p[0] == '^'
	pstart := 0
	if anchor {
		pstart = 1
	}
	ms := &matchState{L: L, b: v.budget, src: src, pat: p}
	var out strings.Builder
	grow := func(n int) {
		if out.Len()+n > v.limits.MaxStringLen {
			L.RaiseError("string.gsub result exceeds %d bytes", v.limits.MaxStringLen)
		}
	}
	n := 0
	s := 0
loop:
	for n < maxN {
		ms.level = 0
		e := ms.match(s, pstart)
		if e != -1 {
			n++
			piece := v.gsubValue(ms, repl, s, e)
			grow(len(piece))
			out.WriteString(piece)
		}
		switch {
		case e != -1 && e > s:
			s = e
		case s < len(src):
			grow(1)
			out.WriteByte(src[s])
			s++
		default:
			break loop // at the end of the subject
		}
		if anchor {
			break
		}
	}
	grow(len(src) - s)
	out.WriteString(src[s:])
	L.Push(lua.LString(out.String()))
	L.Push(lua.LNumber(n))
	return 2
}

// gsubValue returns the replacement for the match src[s:e].
func (v *vm) gsubValue(ms *matchState, repl lua.LValue, s, e int) string {
	L := ms.L
	var val lua.LValue
	switch r := repl.(type) {
	case *lua.LFunction:
		L.Push(r)
		n := ms.pushCaptures(s, e, true)
		L.Call(n, 1)
		val = L.Get(-1)
		L.Pop(1)
	case *lua.LTable:
		val = L.GetTable(r, ms.captureValue(0, s, e))
	default:
		return v.gsubString(ms, lua.LVAsString(repl), s, e)
	}
	switch val.Type() {
	case lua.LTNil:
		return ms.src[s:e]
	case lua.LTBool:
		if !lua.LVAsBool(val) {
			return ms.src[s:e]
		}
	case lua.LTString, lua.LTNumber:
		return lua.LVAsString(val)
	}
	L.RaiseError("invalid replacement value (a %s)", val.Type())
	return ""
}

// gsubString expands %0-%9 and %% in a replacement string.
func (v *vm) gsubString(ms *matchState, repl string, s, e int) string {
	if !strings.Contains(repl, "%") {
		return repl
	}
	var b strings.Builder
	for i := 0; i < len(repl); i++ {
		c := repl[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(repl) {
			ms.fail("invalid use of '%%' in replacement string")
		}
		c = repl[i]
		switch {
		case !isDigit(c):
			b.WriteByte(c)
		case c == '0':
			b.WriteString(ms.src[s:e])
		default:
			b.WriteString(lua.LVAsString(ms.captureValue(int(c-'1'), s, e)))
		}
		if b.Len() > v.limits.MaxStringLen {
			ms.fail("string.gsub result exceeds %d bytes", v.limits.MaxStringLen)
		}
	}
	return b.String()
}
