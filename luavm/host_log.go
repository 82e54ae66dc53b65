package luavm

import (
	"context"
	"log/slog"

	lua "github.com/yuin/gopher-lua"
)

// Host API: log. Scripts write
//
//	log.info("unlocked", {id = "kills_10", player = p})
//
// with debug, info, warn and error. Lines go to the host's slog logger with
// the module, generation number and hash, and the function being called. A
// message is cut at maxLogMessage bytes; fields (optional table) keep up to
// maxLogFields string, number and boolean values. A call writes at most
// Limits.MaxLogLines lines; the rest are counted in one final line.

const (
	maxLogMessage = 1024
	maxLogFields  = 16
)

func (v *vm) openLog() *lua.LTable {
	L := v.L
	t := L.NewTable()
	for name, level := range map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError} {
		t.RawSetString(name, L.NewFunction(func(L *lua.LState) int {
			msg := L.CheckString(1)
			var fields *lua.LTable
			if L.GetTop() >= 2 && L.Get(2) != lua.LNil {
				fields = L.CheckTable(2)
			}
			v.logLine(level, msg, fields)
			return 0
		}))
	}
	return t
}

func (v *vm) logLine(level slog.Level, msg string, fields *lua.LTable) {
	if v.host.log == nil || !v.host.log.Enabled(context.Background(), level) {
		return
	}
	if v.logLines >= v.limits.MaxLogLines {
		v.logDropped++
		return
	}
	v.logLines++
	if len(msg) > maxLogMessage {
		msg = msg[:maxLogMessage] + "…"
	}
	attrs := []slog.Attr{slog.String("fn", v.fn)}
	if fields != nil {
		n := 0
		fields.ForEach(func(k, val lua.LValue) {
			key, ok := k.(lua.LString)
			if !ok || n >= maxLogFields {
				return
			}
			switch x := val.(type) {
			case lua.LString:
				s := string(x)
				if len(s) > maxLogMessage {
					s = s[:maxLogMessage] + "…"
				}
				attrs = append(attrs, slog.String(string(key), s))
			case lua.LNumber:
				attrs = append(attrs, slog.Float64(string(key), float64(x)))
			case lua.LBool:
				attrs = append(attrs, slog.Bool(string(key), bool(x)))
			default:
				return
			}
			n++
		})
	}
	v.host.log.LogAttrs(context.Background(), level, msg, attrs...)
}

// flushLogDrops reports the lines a call could not write.
func (v *vm) flushLogDrops() {
	if v.logDropped > 0 && v.host.log != nil {
		v.host.log.Warn("script log lines dropped", "fn", v.fn, "dropped", v.logDropped, "max_per_call", v.limits.MaxLogLines)
	}
	v.logDropped = 0
}
