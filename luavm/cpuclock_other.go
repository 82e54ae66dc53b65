//go:build !linux

package luavm

import "time"

// threadCPU is not available on this platform: the CPU budget is not
// enforced (the wall-clock deadline still is).
func threadCPU() (time.Duration, bool) { return 0, false }

func threadID() int { return 0 }

func threadCPUOf(int) (time.Duration, bool) { return 0, false }
