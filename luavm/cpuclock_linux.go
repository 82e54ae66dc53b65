//go:build linux

package luavm

import (
	"time"

	"golang.org/x/sys/unix"
)

// threadCPU returns the CPU time consumed so far by the calling OS thread.
// It is meaningful only on a goroutine locked to its thread (the workers, and
// RunLuaTests). It costs one system call (~0.25 µs here: thread clocks have no
// vDSO fast path), so the budget reads it every cpuCheckEvery instructions,
// not per call.
func threadCPU() (time.Duration, bool) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}

// threadID returns the calling thread's id.
func threadID() int { return unix.Gettid() }

// threadCPUOf returns the CPU time consumed so far by thread tid of this
// process, read from another thread: Linux's per-thread CPU clock id is
// MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED) = (^tid << 3) | 4 | 2.
func threadCPUOf(tid int) (time.Duration, bool) {
	if tid <= 0 {
		return 0, false
	}
	var ts unix.Timespec
	clock := int32(^uint32(tid)<<3) | 6
	if err := unix.ClockGettime(clock, &ts); err != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
