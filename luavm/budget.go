package luavm

import (
	"context"
	"errors"
	"sync"
	"time"
)

// cpuCheckEvery is how many VM instructions run between two reads of the
// thread CPU clock (a power of two). 1 024 instructions of gopher-lua take
// roughly 10-30 µs here, so a read costs under 2 % of a long call and a call
// shorter than that pays nothing.
const cpuCheckEvery = 1024

// budget is the context.Context every VM of one worker runs under (set with
// LState.SetContext). gopher-lua calls Done before every instruction, so:
//
//   - Done returns the kill channel, closed by trip: the VM raises an error at
//     its next instruction. The wall-clock deadline trips it from a timer
//     (one reusable time.Timer per worker), the caller's cancellation from
//     context.AfterFunc, and the CPU budget from Done itself or the timer.
//   - Done counts instructions and every cpuCheckEvery reads the thread's CPU
//     clock (the worker is locked to its thread). The CPU a call used is
//     measured from its first check; the wall time before that first check
//     (at most cpuCheckEvery instructions) is charged as if it were all CPU,
//     so this check errs on the strict side.
//   - While a call runs, the timer also fires every half CPU budget and reads
//     the worker thread's CPU clock from outside (Linux per-thread clock ids).
//     It sees a call that runs long inside few instructions (s = s .. s): CPU
//     counted from the first tick that saw the call, so such a call is
//     stopped after 1 to 1.5 CPU budgets of CPU, at its next instruction.
//
// Builtins that run long inside one instruction are not interrupted by the
// context; that is why the string library is wrapped (see lib_string.go): the
// pattern matcher polls this budget itself, and output sizes are capped.
type budget struct {
	// Owned by the goroutine that runs the VM (no lock): counters and CPU state.
	n          uint32
	cpuLimit   time.Duration
	cpuBase    time.Duration // thread CPU at the first check; -1 before it
	cpuCharged time.Duration // wall time from call start to the first check
	start      time.Time

	mu       sync.Mutex
	kill     chan struct{} // replaced (by the VM goroutine, under mu) after a trip
	reason   Budget
	busy     bool
	batch    uint64 // which batch is running (for cancellation)
	call     uint64 // which call is running (for the timer's CPU reads)
	deadline time.Time
	cpu      time.Duration // the running call's CPU budget
	timer    *time.Timer
	timerAt  time.Time // when the timer is armed to fire; zero if not armed
	closed   bool
	tid      int           // the thread the VMs run on (0: unknown)
	seenCall uint64        // the call the timer last saw running
	seenCPU  time.Duration // the thread's CPU when the timer first saw it
}

// newBudget returns the budget of VMs that run on the calling goroutine,
// which must be locked to its thread.
func newBudget() *budget {
	b := &budget{kill: make(chan struct{}), cpuBase: -1, tid: threadID()}
	b.timer = time.AfterFunc(time.Hour, b.onTimer)
	b.timer.Stop()
	return b
}

// close stops the timer. The budget must not be used afterwards.
func (b *budget) close() {
	b.mu.Lock()
	b.closed = true
	b.timer.Stop()
	b.mu.Unlock()
}

// Deadline implements context.Context.
func (b *budget) Deadline() (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.deadline, b.busy
}

// Done implements context.Context; see the type comment.
func (b *budget) Done() <-chan struct{} {
	b.n++
	if b.n&(cpuCheckEvery-1) == 0 {
		b.checkCPU()
	}
	return b.kill
}

// Err implements context.Context: the budget that was hit.
func (b *budget) Err() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.reason == BudgetNone {
		return nil
	}
	return budgetErr{b.reason}
}

// Value implements context.Context.
func (b *budget) Value(any) any { return nil }

// budgetErr is the error gopher-lua raises in the script when the budget's
// context is done; its text is what a script sees if it inspects the error.
type budgetErr struct{ b Budget }

func (e budgetErr) Error() string { return "luavm: " + string(e.b) + " budget exceeded" }

// begin starts a call at now with the given wall deadline and CPU budget.
func (b *budget) begin(now, deadline time.Time, cpu time.Duration) {
	b.n = 0
	b.cpuLimit = cpu
	b.cpuBase = -1
	b.start = now
	b.mu.Lock()
	b.busy = true
	b.call++
	b.deadline = deadline
	b.cpu = cpu
	if at := b.nextTick(now); !b.closed && (b.timerAt.IsZero() || at.Before(b.timerAt)) {
		b.timerAt = at
		b.timer.Reset(at.Sub(now))
	}
	b.mu.Unlock()
}

// nextTick is when the timer must fire next for the running call: at its
// deadline, or earlier to read its thread's CPU clock.
func (b *budget) nextTick(now time.Time) time.Time {
	at := b.deadline
	if b.cpu > 0 && b.tid != 0 {
		if t := now.Add(max(b.cpu/2, time.Millisecond)); t.Before(at) {
			at = t
		}
	}
	return at
}

// end finishes a call and returns the budget it hit, if any. After a hit the
// caller must discard the VM and call reset.
func (b *budget) end() Budget {
	b.mu.Lock()
	b.busy = false
	r := b.reason
	b.mu.Unlock()
	return r
}

// tripped reports, without blocking, whether the running call hit a budget.
func (b *budget) tripped() bool {
	select {
	case <-b.kill:
		return true
	default:
		return false
	}
}

// poll is Done for code that runs long inside one instruction (the pattern
// matcher): it counts a step and reports whether the call must stop.
func (b *budget) poll() bool {
	b.Done()
	return b.tripped()
}

// reset prepares the budget for the next call after a hit.
func (b *budget) reset() {
	b.mu.Lock()
	if b.reason != BudgetNone {
		b.kill = make(chan struct{})
		b.reason = BudgetNone
	}
	b.mu.Unlock()
}

// startBatch marks the start of a batch and returns its id for cancel.
func (b *budget) startBatch() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.batch++
	return b.batch
}

// cancel trips the running call if it belongs to batch: a caller's deadline
// counts as the deadline budget, any other cancellation as cancelled.
func (b *budget) cancel(batch uint64, cause error) {
	r := BudgetCancelled
	if errors.Is(cause, context.DeadlineExceeded) {
		r = BudgetDeadline
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.busy && b.batch == batch {
		b.tripLocked(r)
	}
}

func (b *budget) tripLocked(r Budget) {
	if b.reason != BudgetNone {
		return
	}
	b.reason = r
	close(b.kill)
}

// onTimer runs on the timer's goroutine: it trips the running call if its
// deadline has passed, or re-arms the timer for the running call's deadline.
func (b *budget) onTimer() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.timerAt = time.Time{}
	if !b.busy || b.closed {
		return
	}
	now := time.Now()
	if !now.Before(b.deadline) {
		b.tripLocked(BudgetDeadline)
		return
	}
	if b.cpu > 0 {
		if cpu, ok := threadCPUOf(b.tid); ok {
			if b.seenCall != b.call {
				b.seenCall, b.seenCPU = b.call, cpu
			} else if cpu-b.seenCPU > b.cpu {
				b.tripLocked(BudgetCPU)
				return
			}
		}
	}
	b.timerAt = b.nextTick(now)
	b.timer.Reset(b.timerAt.Sub(now))
}

// checkCPU runs on the VM's goroutine (locked to its thread).
func (b *budget) checkCPU() {
	if b.cpuLimit <= 0 {
		return
	}
	now, ok := threadCPU()
	if !ok {
		return
	}
	if b.cpuBase < 0 {
		b.cpuBase = now
		b.cpuCharged = time.Since(b.start)
	}
	if now-b.cpuBase+b.cpuCharged > b.cpuLimit {
		b.mu.Lock()
		b.tripLocked(BudgetCPU)
		b.mu.Unlock()
	}
}

// watchCancel trips the running call of batch when ctx is done; the returned
// function stops watching.
func (b *budget) watchCancel(ctx context.Context, batch uint64) func() bool {
	if ctx.Done() == nil {
		return func() bool { return true }
	}
	return context.AfterFunc(ctx, func() { b.cancel(batch, ctx.Err()) })
}

var _ context.Context = (*budget)(nil)
