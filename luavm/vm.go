package luavm

import (
	"errors"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/gamemesh/gamemesh"
)

// maxResults caps the values one call may return.
const maxResults = 16

// hostEnv is what the host API of a VM needs from its host.
type hostEnv struct {
	log    *slog.Logger                  // scoped to module and generation
	config func(name string) (any, bool) // the host's config tables
}

// vm is one sandboxed LState holding one module generation. It is used by one
// goroutine only (a worker, or a Lua test), and thrown away — never reused —
// after any budget hit or panic.
type vm struct {
	L       *lua.LState
	info    Generation
	limits  Limits
	budget  *budget
	host    hostEnv
	rng     *rand.Rand
	env     *lua.LTable // the module's environment (frozen after load)
	exports *lua.LTable // what the module's files defined
	fns     map[string]*lua.LFunction

	poison   Budget // a budget hit seen (and re-raised) by the sandbox's pcall
	dead     bool
	lastUsed time.Time

	// The running call, for the host API.
	fn         string
	logLines   int
	logDropped int
}

// newVM builds a sandboxed LState for the generation described by info. The
// bundle is not loaded yet (load runs scripts: call it under the budget).
func newVM(info Generation, lim Limits, b *budget, host hostEnv) *vm {
	L := lua.NewState(lua.Options{
		SkipOpenLibs:     true,
		CallStackSize:    lim.CallStackSize,
		RegistrySize:     lim.RegistrySize,
		RegistryMaxSize:  lim.RegistryMaxSize,
		RegistryGrowStep: registryGrowStep(lim),
	})
	L.SetContext(b)
	v := &vm{L: L, info: info, limits: lim, budget: b, host: host, rng: newRNG(), lastUsed: time.Now()}
	globals := v.sandbox()
	v.env = L.NewTable()
	L.SetMetatable(v.env, v.lockedMeta(globals, nil))
	return v
}

// registryGrowStep: gopher-lua grows the registry linearly, copying it each
// time; a step of an eighth of the maximum bounds a registry bomb to eight
// copies.
func registryGrowStep(lim Limits) int {
	return max(32, lim.RegistryMaxSize/8)
}

// close releases the LState.
func (v *vm) close() {
	v.dead = true
	v.L.Close()
}

// load runs the module's chunks (and extra ones, for tests) in the module
// environment, then freezes it: from then on assigning a global is an error,
// so a call cannot leave state behind in the VM's globals.
func (v *vm) load(protos []*lua.FunctionProto, extra ...*lua.FunctionProto) error {
	L := v.L
	v.fn = "(load)"
	for _, p := range append(protos[:len(protos):len(protos)], extra...) {
		fn := L.NewFunctionFromProto(p)
		fn.Env = v.env
		L.Push(fn)
		if err := L.PCall(0, 0, nil); err != nil {
			L.SetTop(0)
			return v.scriptError("(load "+p.SourceName+")", err)
		}
	}
	v.exports = L.NewTable()
	var keys []lua.LValue
	v.env.ForEach(func(k, val lua.LValue) {
		v.exports.RawSet(k, val)
		keys = append(keys, k)
	})
	for _, k := range keys {
		v.env.RawSet(k, lua.LNil)
	}
	globals := v.env.Metatable.(*lua.LTable).RawGetString("__index")
	L.SetMetatable(v.exports, v.lockedMeta(globals, nil))
	L.SetMetatable(v.env, v.lockedMeta(v.exports, L.NewFunction(v.frozenWrite)))
	v.fns = make(map[string]*lua.LFunction)
	v.exports.ForEach(func(k, val lua.LValue) {
		if name, ok := k.(lua.LString); ok {
			if fn, ok := val.(*lua.LFunction); ok {
				v.fns[string(name)] = fn
			}
		}
	})
	return nil
}

func (v *vm) frozenWrite(L *lua.LState) int {
	L.RaiseError("module state is read-only during a call: cannot assign global %q (use locals and return values)", lua.LVAsString(L.Get(2)))
	return 0
}

// call runs fn(args...) and returns its results as Go values. Errors are a
// *ScriptError (the script failed; v.poison tells whether a budget was hit)
// or a *gamemesh.Error for arguments and unknown functions.
func (v *vm) call(fn string, args []any) ([]any, error) {
	f := v.fns[fn]
	if f == nil {
		return nil, gamemesh.Errorf(gamemesh.CodeNotFound, "script module %s (generation %d) has no function %s", v.info.Module, v.info.Number, fn)
	}
	L := v.L
	L.SetTop(0)
	L.Push(f)
	conv := newConverter(v.limits)
	for _, a := range args {
		lv, err := conv.toLua(L, a, 0)
		if err != nil {
			L.SetTop(0)
			return nil, err
		}
		L.Push(lv)
	}
	v.fn, v.logLines, v.logDropped = fn, 0, 0
	err := L.PCall(len(args), lua.MultRet, nil)
	v.flushLogDrops()
	if err != nil {
		L.SetTop(0)
		return nil, v.scriptError(fn, err)
	}
	n := L.GetTop()
	if n > maxResults {
		L.SetTop(0)
		return nil, &ScriptError{Module: v.info.Module, Generation: v.info.Number, Hash: v.info.Hash, Fn: fn,
			Message: "returned more than 16 values"}
	}
	out := make([]any, n)
	conv = newConverter(v.limits)
	for i := range n {
		val, err := conv.fromLua(L.Get(i+1), 0)
		if err != nil {
			L.SetTop(0)
			return nil, &ScriptError{Module: v.info.Module, Generation: v.info.Number, Hash: v.info.Hash, Fn: fn,
				Message: "result " + itoa(i+1) + ": " + gamemesh.MessageOf(err)}
		}
		out[i] = val
	}
	L.SetTop(0)
	return out, nil
}

// scriptError turns a PCall error into a ScriptError and records in v.poison
// a budget hit that the error reveals (stack or registry overflow, panic).
func (v *vm) scriptError(fn string, err error) *ScriptError {
	msg := err.Error()
	var aerr *lua.ApiError
	if errors.As(err, &aerr) {
		msg = lua.LVAsString(aerr.Object)
		if aerr.Object.Type() != lua.LTString && aerr.Object.Type() != lua.LTNumber {
			msg = "error object is a " + aerr.Object.Type().String()
		}
	}
	if b := v.fatal(err); b != BudgetNone && v.poison == BudgetNone {
		v.poison = b
	}
	return &ScriptError{Module: v.info.Module, Generation: v.info.Number, Hash: v.info.Hash, Fn: fn, Message: msg}
}

// fatal tells whether err (caught by a pcall) means the VM must be thrown
// away, and why.
func (v *vm) fatal(err error) Budget {
	if v.budget.tripped() {
		return BudgetDeadline // the worker learns the exact budget from the budget itself
	}
	var aerr *lua.ApiError
	if !errors.As(err, &aerr) {
		return BudgetPanic
	}
	if aerr.Type == lua.ApiErrorPanic {
		return BudgetPanic
	}
	if s, ok := aerr.Object.(lua.LString); ok {
		switch {
		case strings.Contains(string(s), "stack overflow"):
			return BudgetCallStack
		case strings.Contains(string(s), "registry overflow"):
			return BudgetRegistry
		}
	}
	return BudgetNone
}

func itoa(i int) string { return strconv.Itoa(i) }
