// Package luavm runs hot-fixable game logic written in Lua (gopher-lua) on
// worker goroutines locked to their OS threads, in a sandbox with per-call
// budgets, and patches it in a running game with versioned generations, a
// canary and rollback.
//
// # Workers and batches
//
// A Pool has Limits.Workers workers. Each is a goroutine that calls
// runtime.LockOSThread for its whole life, so a script's CPU time can be read
// from its thread's own clock, and owns its VMs (one *lua.LState per module
// generation it serves). Crossing to a locked thread and back costs about
// 35 µs here (the runtime hands its P over and the OS wakes the thread), so
// work crosses in batches: Pool.CallBatch sends many calls of one module in
// one crossing (a scene tick's Lua work, a batch of events); Pool.Call is the
// one-call convenience for paths where 35 µs does not matter. Arguments and
// results are plain Go values (nil, bool, int64/float64, string, []any,
// map[string]any), converted with caps on size and depth; Lua objects never
// leave the worker.
//
// # Budgets
//
// Every call runs under a wall deadline (Limits.CallTimeout, or the caller's
// earlier deadline), a CPU budget read from the worker thread's clock
// (Limits.CPUTime), and caps on call frames and registry slots. The deadline
// and the caller's cancellation close the VM's context from a timer; gopher-
// lua checks it before every instruction, and the sandbox's pcall re-raises
// budget errors so a script cannot catch them. The CPU clock is read every
// 1 024 instructions (budget.go says how precisely). A VM that hit a budget,
// or in which Go panicked, is thrown away and rebuilt at the next call. What
// is not interruptible — one builtin running long inside one instruction — is
// bounded instead: string.rep is absent, string patterns run on our own
// matcher which polls the budget, and string.format, gsub and table.concat
// cap what they build. The one thing only the deadline bounds is a chain of
// `s = s .. s`: each concatenation is one instruction, so the string reached
// at the deadline (tens to a few hundred MiB at a 100-250 ms deadline) is
// allocated before the VM stops.
//
// # Sandbox
//
// See sandbox.go: base (without load, loadstring, dofile, loadfile, require,
// module, collectgarbage, raw*, getfenv/setfenv, newproxy, _G; with our own
// pcall, xpcall, getmetatable, setmetatable, print), string (without rep,
// dump), table, math (per-VM random) and the host API (log, event, config,
// effect; one file each, host_*.go). No os, io, debug, package, coroutine.
// Library tables are read-only proxies, the string metatable is unreachable,
// and after a module's files have run its globals are frozen: a call cannot
// assign a global, so it cannot leave state behind in the VM.
//
// # Bundles, generations, patches
//
// A Bundle is a module's .lua files (scripts/<module>/*.lua minus
// *_test.lua), compiled once into function prototypes every VM shares, with a
// sha256 content hash. Pool.Patch checks a bundle off to the side — it loads
// it on a worker under the budgets, requires the functions the host declared
// (Options.Required), runs self_test() if defined — then makes it a
// Generation (module, number, hash, when, by whom, from where) with one
// atomic pointer store. Every batch runs wholly on the generation it was
// given at dispatch; results, script errors (ScriptError) and script log
// lines carry it. A new generation first serves a share of batches as a
// canary (CanaryPolicy) and is rolled back by itself if its error rate
// exceeds the active one's; Pool.Rollback returns to any kept generation.
//
// # Sources of patches
//
// DirWatcher patches from a scripts folder in development (fsnotify,
// debounced). In a cluster, Publisher stores bundles in a gamemesh.Store and
// sets the active hash in a configuration key; every host's Follower
// subscribes to the key (and re-reads it), fetches, verifies and patches, so
// hosts converge and a host started later loads the current bundle.
//
// # Lua tests
//
// RunLuaTests runs the test_* functions of *_test.lua files next to the
// scripts, one Go subtest each, with an expect helper.
package luavm
