package luavm

import (
	"fmt"
	"time"

	"github.com/gamemesh/gamemesh"
)

// CanaryPolicy says how a new generation is tried before it takes all calls.
// A new generation of a module that already has an active one first serves
// Share of the batches. It is rolled back by itself as soon as, after at
// least MinCalls calls, its error rate exceeds the active generation's (over
// the same period) by more than Margin; it is promoted to 100 % after Calls
// calls or after Duration (judged one last time on what it served by then).
// Errors are script errors and budget hits; bad arguments and cancelled calls
// are the caller's and do not count.
type CanaryPolicy struct {
	// Disabled swaps new generations in at once.
	Disabled bool
	// Share of batches (0 < Share ≤ 1) the canary serves; default 0.1.
	Share float64
	// Calls after which the canary is promoted; default 200.
	Calls int
	// Duration after which the canary is promoted; default 30 s.
	Duration time.Duration
	// MinCalls before the error rate is judged; default 20.
	MinCalls int
	// Margin by which the canary's error rate may exceed the active one's;
	// default 0.05 (five percentage points).
	Margin float64
}

// DefaultCanaryPolicy returns the defaults.
func DefaultCanaryPolicy() CanaryPolicy {
	return CanaryPolicy{Share: 0.1, Calls: 200, Duration: 30 * time.Second, MinCalls: 20, Margin: 0.05}
}

func (c CanaryPolicy) withDefaults() CanaryPolicy {
	d := DefaultCanaryPolicy()
	if c.Share == 0 {
		c.Share = d.Share
	}
	if c.Calls == 0 {
		c.Calls = d.Calls
	}
	if c.Duration == 0 {
		c.Duration = d.Duration
	}
	if c.MinCalls == 0 {
		c.MinCalls = d.MinCalls
	}
	if c.Margin == 0 {
		c.Margin = d.Margin
	}
	return c
}

func (c CanaryPolicy) validate() error {
	switch {
	case c.Share <= 0 || c.Share > 1:
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "canary share %v must be in (0, 1]", c.Share)
	case c.Calls < 1 || c.MinCalls < 1:
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "canary calls and min calls must be positive")
	case c.Duration < time.Millisecond:
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "canary duration %s is too short", c.Duration)
	case c.Margin < 0 || c.Margin > 1:
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "canary margin %v must be in [0, 1]", c.Margin)
	}
	return nil
}

// canaryRun is one trial of a generation against the active one.
type canaryRun struct {
	gen, base                                  *generation
	policy                                     CanaryPolicy
	genCalls0, genErrs0, baseCalls0, baseErrs0 uint64
	started                                    time.Time
	timer                                      *time.Timer
	done                                       bool // guarded by the module's mu
}

type verdict int

const (
	verdictWait verdict = iota
	verdictPromote
	verdictRollback
)

// judge decides from the counters (lock-free); final is the Duration's end.
func (r *canaryRun) judge(final bool) (verdict, string) {
	cC := r.gen.calls.Load() - r.genCalls0
	cE := r.gen.errors.Load() - r.genErrs0
	bC := r.base.calls.Load() - r.baseCalls0
	bE := r.base.errors.Load() - r.baseErrs0
	if cC >= uint64(r.policy.MinCalls) || (final && cC > 0) {
		cRate := float64(cE) / float64(cC)
		bRate := 0.0
		if bC > 0 {
			bRate = float64(bE) / float64(bC)
		}
		if cRate > bRate+r.policy.Margin {
			return verdictRollback, fmt.Sprintf("canary error rate %.1f%% (%d/%d calls) exceeds generation %d's %.1f%% (%d/%d) by more than %.1f points",
				100*cRate, cE, cC, r.base.info.Number, 100*bRate, bE, bC, 100*r.policy.Margin)
		}
	}
	if cC >= uint64(r.policy.Calls) || final {
		return verdictPromote, fmt.Sprintf("canary served %d calls with %d errors in %s", cC, cE, time.Since(r.started).Round(time.Millisecond))
	}
	return verdictWait, ""
}
