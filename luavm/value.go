package luavm

import (
	"fmt"
	"math"
	"reflect"

	lua "github.com/yuin/gopher-lua"

	"github.com/gamemesh/gamemesh"
)

// Values cross the worker boundary as plain Go values, never as Lua objects:
//
//	Go → Lua: nil, bool, every integer and float type, string, []any,
//	map[string]any, and other slices/arrays or maps with string keys of those
//	(by reflection). Integers beyond ±2^53 are refused (Lua numbers are
//	float64).
//	Lua → Go: nil, bool, int64 (integral numbers within ±2^53) or float64,
//	string, []any (a table whose keys are exactly 1..n), map[string]any (a
//	table whose keys are all strings; an empty table becomes an empty map).
//	Tables with other keys, functions and other Lua types are refused.
//
// Strings are capped at Limits.MaxStringLen, the total number of table entries
// of one value at MaxTableEntries, and nesting at MaxDepth. Conversion never
// runs Lua code (metatables are ignored).
type converter struct {
	maxStr, maxEntries, maxDepth int
	entries                      int
}

func newConverter(l Limits) *converter {
	return &converter{maxStr: l.MaxStringLen, maxEntries: l.MaxTableEntries, maxDepth: l.MaxDepth}
}

const maxSafeInt = 1 << 53

func (c *converter) badArg(format string, args ...any) error {
	return gamemesh.Errorf(gamemesh.CodeInvalidArgument, format, args...)
}

func (c *converter) count(n int) error {
	c.entries += n
	if c.entries > c.maxEntries {
		return c.badArg("value has more than %d table entries", c.maxEntries)
	}
	return nil
}

func (c *converter) str(s string) error {
	if len(s) > c.maxStr {
		return c.badArg("string of %d bytes exceeds the limit of %d", len(s), c.maxStr)
	}
	return nil
}

// toLua converts a Go value for the script.
func (c *converter) toLua(L *lua.LState, v any, depth int) (lua.LValue, error) {
	switch x := v.(type) {
	case nil:
		return lua.LNil, nil
	case bool:
		return lua.LBool(x), nil
	case string:
		if err := c.str(x); err != nil {
			return nil, err
		}
		return lua.LString(x), nil
	case int:
		return c.intToLua(int64(x))
	case int64:
		return c.intToLua(x)
	case int32:
		return lua.LNumber(x), nil
	case float64:
		return lua.LNumber(x), nil
	case float32:
		return lua.LNumber(x), nil
	case []any:
		if depth >= c.maxDepth {
			return nil, c.badArg("value nested deeper than %d", c.maxDepth)
		}
		if err := c.count(len(x)); err != nil {
			return nil, err
		}
		t := L.CreateTable(len(x), 0)
		for i, e := range x {
			lv, err := c.toLua(L, e, depth+1)
			if err != nil {
				return nil, err
			}
			t.RawSetInt(i+1, lv)
		}
		return t, nil
	case map[string]any:
		if depth >= c.maxDepth {
			return nil, c.badArg("value nested deeper than %d", c.maxDepth)
		}
		if err := c.count(len(x)); err != nil {
			return nil, err
		}
		t := L.CreateTable(0, len(x))
		for k, e := range x {
			if err := c.str(k); err != nil {
				return nil, err
			}
			lv, err := c.toLua(L, e, depth+1)
			if err != nil {
				return nil, err
			}
			t.RawSetString(k, lv)
		}
		return t, nil
	}
	return c.reflectToLua(L, reflect.ValueOf(v), depth)
}

func (c *converter) intToLua(i int64) (lua.LValue, error) {
	if i > maxSafeInt || i < -maxSafeInt {
		return nil, c.badArg("integer %d is beyond ±2^53", i)
	}
	return lua.LNumber(i), nil
}

// reflectToLua handles the remaining number types, typed slices and maps.
func (c *converter) reflectToLua(L *lua.LState, rv reflect.Value, depth int) (lua.LValue, error) {
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return c.intToLua(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u > maxSafeInt {
			return nil, c.badArg("integer %d is beyond 2^53", u)
		}
		return lua.LNumber(u), nil
	case reflect.Float32, reflect.Float64:
		return lua.LNumber(rv.Float()), nil
	case reflect.Bool:
		return lua.LBool(rv.Bool()), nil
	case reflect.String:
		return c.toLua(L, rv.String(), depth)
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return lua.LNil, nil
		}
		return c.toLua(L, rv.Elem().Interface(), depth)
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return lua.LNil, nil
		}
		if depth >= c.maxDepth {
			return nil, c.badArg("value nested deeper than %d", c.maxDepth)
		}
		n := rv.Len()
		if err := c.count(n); err != nil {
			return nil, err
		}
		t := L.CreateTable(n, 0)
		for i := 0; i < n; i++ {
			lv, err := c.toLua(L, rv.Index(i).Interface(), depth+1)
			if err != nil {
				return nil, err
			}
			t.RawSetInt(i+1, lv)
		}
		return t, nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return nil, c.badArg("map keys must be strings, got %s", rv.Type().Key())
		}
		if rv.IsNil() {
			return lua.LNil, nil
		}
		if depth >= c.maxDepth {
			return nil, c.badArg("value nested deeper than %d", c.maxDepth)
		}
		if err := c.count(rv.Len()); err != nil {
			return nil, err
		}
		t := L.CreateTable(0, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			k := it.Key().String()
			if err := c.str(k); err != nil {
				return nil, err
			}
			lv, err := c.toLua(L, it.Value().Interface(), depth+1)
			if err != nil {
				return nil, err
			}
			t.RawSetString(k, lv)
		}
		return t, nil
	}
	if !rv.IsValid() {
		return lua.LNil, nil
	}
	return nil, c.badArg("a %s cannot be handed to a script", rv.Type())
}

// fromLua converts a script's value to a plain Go value.
func (c *converter) fromLua(lv lua.LValue, depth int) (any, error) {
	switch x := lv.(type) {
	case *lua.LNilType:
		return nil, nil
	case lua.LBool:
		return bool(x), nil
	case lua.LNumber:
		f := float64(x)
		if f == math.Trunc(f) && f <= maxSafeInt && f >= -maxSafeInt {
			return int64(f), nil
		}
		return f, nil
	case lua.LString:
		if err := c.str(string(x)); err != nil {
			return nil, err
		}
		return string(x), nil
	case *lua.LTable:
		return c.tableFromLua(x, depth)
	}
	return nil, c.badArg("a Lua %s cannot leave the VM", lv.Type())
}

func (c *converter) tableFromLua(t *lua.LTable, depth int) (any, error) {
	if depth >= c.maxDepth {
		return nil, c.badArg("value nested deeper than %d", c.maxDepth)
	}
	// Count keys and classify them without allocating.
	n, strKeys, maxInt := 0, 0, 0
	var bad lua.LValue
	t.ForEach(func(k, _ lua.LValue) {
		n++
		switch kk := k.(type) {
		case lua.LString:
			strKeys++
		case lua.LNumber:
			f := float64(kk)
			if f >= 1 && f == math.Trunc(f) && f <= maxSafeInt {
				if int(f) > maxInt {
					maxInt = int(f)
				}
			} else if bad == nil {
				bad = k
			}
		default:
			if bad == nil {
				bad = k
			}
		}
	})
	if err := c.count(n); err != nil {
		return nil, err
	}
	switch {
	case n == 0:
		return map[string]any{}, nil
	case strKeys == n:
		m := make(map[string]any, n)
		var err error
		t.ForEach(func(k, v lua.LValue) {
			if err != nil {
				return
			}
			ks := string(k.(lua.LString))
			if err = c.str(ks); err != nil {
				return
			}
			m[ks], err = c.fromLua(v, depth+1)
		})
		return m, err
	case bad == nil && strKeys == 0 && maxInt == n:
		s := make([]any, n)
		for i := 1; i <= n; i++ {
			v, err := c.fromLua(t.RawGetInt(i), depth+1)
			if err != nil {
				return nil, err
			}
			s[i-1] = v
		}
		return s, nil
	}
	if bad == nil {
		bad = lua.LString("mixed")
	}
	return nil, c.badArg("a table must be a list (keys 1..n) or have only string keys (found key %s)", describeKey(bad))
}

func describeKey(k lua.LValue) string {
	switch k.(type) {
	case lua.LString, lua.LNumber:
		return fmt.Sprintf("%q", k.String())
	}
	return "of type " + k.Type().String()
}
