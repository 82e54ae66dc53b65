package luavm

import (
	"fmt"
	"time"

	"github.com/gamemesh/gamemesh"
)

// Limits are the pool's size and the budgets every call runs under. A zero
// field means its default (DefaultLimits). Limits are live: Pool.SetLimits
// changes them without a restart; budgets apply from the next call, and VMs
// built under other stack or registry sizes are rebuilt at their next use.
type Limits struct {
	// Workers is the number of worker goroutines, each locked to its own OS
	// thread for its whole life.
	Workers int
	// CallTimeout is the wall-clock budget of one call (and of loading a
	// bundle into a fresh VM). It is enforced by a timer that closes the VM's
	// context, which gopher-lua checks before every instruction.
	CallTimeout time.Duration
	// CPUTime is the CPU budget of one call, read from the worker thread's own
	// clock (CLOCK_THREAD_CPUTIME_ID) every cpuCheckEvery instructions.
	CPUTime time.Duration
	// CallStackSize caps Lua call frames (deep recursion fails with a budget
	// error and the VM is rebuilt).
	CallStackSize int
	// RegistrySize is the initial size of a VM's value stack (registry), in
	// slots; RegistryMaxSize caps its growth.
	RegistrySize    int
	RegistryMaxSize int
	// MaxStringLen caps every string handed in or out, and every string the
	// wrapped builtins build (string.format, string.gsub, table.concat).
	MaxStringLen int
	// MaxTableEntries caps the total number of table entries in one value
	// handed in or out (all levels together).
	MaxTableEntries int
	// MaxDepth caps the nesting depth of a value handed in or out.
	MaxDepth int
	// MaxBatch caps the calls in one batch.
	MaxBatch int
	// MaxPatternSubject and MaxPattern cap the subject and pattern lengths of
	// string.find, match, gmatch and gsub.
	MaxPatternSubject int
	MaxPattern        int
	// MaxLogLines caps the log lines one call may write; the rest are counted
	// and dropped.
	MaxLogLines int
}

// DefaultLimits returns the defaults: two workers, 250 ms wall and 50 ms CPU
// per call (scripts cannot block, so wall time beyond CPU time is time the
// worker waited for a core: under overload the wall deadline fires first on
// innocent calls, so it is the looser of the two), 200 call frames, a registry of 1 Ki growing to 64 Ki slots
// (1 MiB), 256 KiB strings, 10 000 table entries, depth 16, 4 096 calls per
// batch, 64 KiB pattern subjects and 256-byte patterns, 32 log lines per call.
func DefaultLimits() Limits {
	return Limits{
		Workers:           2,
		CallTimeout:       250 * time.Millisecond,
		CPUTime:           50 * time.Millisecond,
		CallStackSize:     200,
		RegistrySize:      1024,
		RegistryMaxSize:   64 * 1024,
		MaxStringLen:      256 * 1024,
		MaxTableEntries:   10000,
		MaxDepth:          16,
		MaxBatch:          4096,
		MaxPatternSubject: 64 * 1024,
		MaxPattern:        256,
		MaxLogLines:       32,
	}
}

// withDefaults fills zero fields from DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	fill := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	fillD := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	fill(&l.Workers, d.Workers)
	fillD(&l.CallTimeout, d.CallTimeout)
	fillD(&l.CPUTime, d.CPUTime)
	fill(&l.CallStackSize, d.CallStackSize)
	fill(&l.RegistrySize, d.RegistrySize)
	fill(&l.RegistryMaxSize, d.RegistryMaxSize)
	fill(&l.MaxStringLen, d.MaxStringLen)
	fill(&l.MaxTableEntries, d.MaxTableEntries)
	fill(&l.MaxDepth, d.MaxDepth)
	fill(&l.MaxBatch, d.MaxBatch)
	fill(&l.MaxPatternSubject, d.MaxPatternSubject)
	fill(&l.MaxPattern, d.MaxPattern)
	fill(&l.MaxLogLines, d.MaxLogLines)
	return l
}

// validate checks l (after withDefaults) against sane bounds.
func (l Limits) validate() error {
	checks := []struct {
		name      string
		v, lo, hi int64
	}{
		{"Workers", int64(l.Workers), 1, 256},
		{"CallTimeout", int64(l.CallTimeout), int64(time.Millisecond), int64(time.Minute)},
		{"CPUTime", int64(l.CPUTime), int64(time.Millisecond), int64(time.Minute)},
		{"CallStackSize", int64(l.CallStackSize), 16, 100000},
		{"RegistrySize", int64(l.RegistrySize), 128, 1 << 24},
		{"RegistryMaxSize", int64(l.RegistryMaxSize), int64(l.RegistrySize), 1 << 24},
		{"MaxStringLen", int64(l.MaxStringLen), 1024, 64 << 20},
		{"MaxTableEntries", int64(l.MaxTableEntries), 16, 10_000_000},
		{"MaxDepth", int64(l.MaxDepth), 2, 200},
		{"MaxBatch", int64(l.MaxBatch), 1, 1 << 20},
		{"MaxPatternSubject", int64(l.MaxPatternSubject), 64, 64 << 20},
		{"MaxPattern", int64(l.MaxPattern), 8, 64 * 1024},
		{"MaxLogLines", int64(l.MaxLogLines), 1, 1 << 20},
	}
	for _, c := range checks {
		if c.v < c.lo || c.v > c.hi {
			return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "luavm limit %s = %d out of range [%d, %d]", c.name, c.v, c.lo, c.hi)
		}
	}
	return nil
}

// sameVMShape reports whether VMs built under a can serve under b (the
// LState options are fixed at creation).
func (l Limits) sameVMShape(b Limits) bool {
	return l.CallStackSize == b.CallStackSize && l.RegistrySize == b.RegistrySize && l.RegistryMaxSize == b.RegistryMaxSize
}

// String implements fmt.Stringer for logs.
func (l Limits) String() string {
	return fmt.Sprintf("workers=%d timeout=%s cpu=%s stack=%d registry=%d..%d", l.Workers, l.CallTimeout, l.CPUTime, l.CallStackSize, l.RegistrySize, l.RegistryMaxSize)
}
