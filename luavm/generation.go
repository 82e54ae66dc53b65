package luavm

import (
	"fmt"
	"sync/atomic"
	"time"
)

// Generation identifies one version of a module's code: the module, a number
// (increasing per module; in a cluster, assigned by the Publisher so that
// every host agrees), the bundle's content hash, and when, by whom and from
// where it came. Every call result, script error and script log line carries
// it.
type Generation struct {
	Module    string
	Number    int
	Hash      string
	CreatedAt time.Time
	By        string
	Source    string
}

// String returns "module#number(hash prefix)".
func (g Generation) String() string {
	return fmt.Sprintf("%s#%d(%s)", g.Module, g.Number, short(g.Hash))
}

// State is where a generation stands in its module.
type State string

// The states of a generation.
const (
	StateActive     State = "active"      // serving (all calls, or all but the canary's share)
	StateCanary     State = "canary"      // serving a share of calls on trial
	StateRetired    State = "retired"     // was active, replaced; kept for rollback
	StateRolledBack State = "rolled_back" // its canary failed, or it was rolled back from
	StateSuperseded State = "superseded"  // a newer patch or a rollback ended its canary
)

// GenerationStatus is a kept generation with its state and counters.
type GenerationStatus struct {
	Generation
	State State
	// Reason says why it was rolled back or superseded.
	Reason string
	// CanaryFailed is set when its canary was rolled back for its error
	// rate (a cluster Follower does not adopt it again on this host).
	CanaryFailed bool
	// Calls, Errors (script errors and budget hits) and BudgetKills (VMs
	// thrown away) count the calls served by this generation.
	Calls, Errors, BudgetKills uint64
	// CPU is the worker-thread CPU time spent in its batches.
	CPU time.Duration
}

// generation is the pool's record of a Generation.
type generation struct {
	info   Generation
	bundle *Bundle

	calls, errors, kills atomic.Uint64
	cpu                  atomic.Int64

	// live: active or canary (workers keep its VMs); dropped: no longer kept
	// (workers close its VMs at once).
	live    atomic.Bool
	dropped atomic.Bool

	// Guarded by the module's mu.
	state        State
	reason       string
	canaryFailed bool
	activations  int // order of the last activation, for "previous"
}

func (g *generation) status() GenerationStatus {
	return GenerationStatus{
		Generation:   g.info,
		State:        g.state,
		Reason:       g.reason,
		CanaryFailed: g.canaryFailed,
		Calls:        g.calls.Load(),
		Errors:       g.errors.Load(),
		BudgetKills:  g.kills.Load(),
		CPU:          time.Duration(g.cpu.Load()),
	}
}
