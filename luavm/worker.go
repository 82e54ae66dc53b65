package luavm

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/gamemesh/gamemesh"
)

// idleVM is how long a worker keeps the VM of a generation that no longer
// serves (in-flight batches of a replaced generation reuse it meanwhile).
const idleVM = 2 * time.Second

// job is one crossing of the boundary: a batch of calls on one generation,
// or the check of a candidate generation.
type job struct {
	ctx     context.Context
	gen     *generation
	calls   []Call
	results []Result

	check    bool
	required []string
	checkErr error

	done chan struct{}

	// Outcome, for the generation's counters and the canary.
	nCalls, nErrs, nKills int
	cpu                   time.Duration
	ran                   time.Duration // wall time on the worker
}

// worker is a goroutine locked to its OS thread for its whole life. It owns
// its VMs (one per generation it has served) and its budget.
type worker struct {
	p      *Pool
	id     int
	quit   chan struct{}
	budget *budget
	vms    map[*generation]*vm
}

func newWorker(p *Pool, id int) *worker {
	return &worker{p: p, id: id, quit: make(chan struct{}), vms: make(map[*generation]*vm)}
}

// run is the worker's life. The goroutine stays locked to its thread until it
// returns, so the runtime ends that thread with it: no other goroutine ever
// runs on a thread that ran scripts.
func (w *worker) run() {
	runtime.LockOSThread()
	w.budget = newBudget()
	defer func() {
		for g, v := range w.vms {
			v.close()
			delete(w.vms, g)
		}
		w.budget.close()
	}()
	for {
		select {
		case j := <-w.p.jobs:
			w.do(j)
		case <-w.quit:
			return
		case <-w.p.done:
			return
		}
	}
}

func (w *worker) do(j *job) {
	lim := *w.p.limits.Load()
	w.evict(j.gen, lim)
	batch := w.budget.startBatch()
	stop := w.budget.watchCancel(j.ctx, batch)
	t0 := time.Now()
	cpu0, _ := threadCPU()
	if j.check {
		j.checkErr = w.check(j, lim)
	} else {
		w.runBatch(j, lim)
	}
	cpu1, _ := threadCPU()
	stop()
	j.cpu = cpu1 - cpu0
	j.ran = time.Since(t0)
	if v := w.vms[j.gen]; v != nil {
		v.lastUsed = time.Now()
		if j.gen.dropped.Load() {
			w.discard(j.gen, v)
		}
	}
	close(j.done)
}

// evict closes VMs of generations that no longer serve (dropped at once,
// replaced ones after idleVM) and VMs built under other stack sizes.
func (w *worker) evict(current *generation, lim Limits) {
	now := time.Now()
	for g, v := range w.vms {
		if g == current {
			continue
		}
		if g.dropped.Load() || (!g.live.Load() && now.Sub(v.lastUsed) > idleVM) || !v.limits.sameVMShape(lim) {
			w.discard(g, v)
		}
	}
}

func (w *worker) discard(g *generation, v *vm) {
	v.close()
	if w.vms[g] == v {
		delete(w.vms, g)
	}
}

// vmFor returns the worker's VM for gen, building (and loading) it if needed.
func (w *worker) vmFor(gen *generation, lim Limits) (*vm, error) {
	if v := w.vms[gen]; v != nil {
		if !v.dead && v.limits.sameVMShape(lim) {
			v.limits = lim
			return v, nil
		}
		w.discard(gen, v)
	}
	v := newVM(gen.info, lim, w.budget, w.p.hostEnv(gen))
	w.p.vmBuilds.Add(1)
	now := time.Now()
	w.budget.begin(now, now.Add(lim.CallTimeout), lim.CPUTime)
	err := v.load(gen.bundle.protos)
	hit := w.budget.end()
	if hit == BudgetNone {
		hit = v.poison
	}
	if hit != BudgetNone {
		w.budget.reset()
		v.close()
		return nil, budgetError(gen, "(load)", hit, err)
	}
	if err != nil {
		v.close()
		return nil, asCallError(err)
	}
	w.vms[gen] = v
	return v, nil
}

// callOne runs one call under the budget. hit reports a budget hit (the VM
// is then discarded).
func (w *worker) callOne(ctx context.Context, gen *generation, v *vm, c Call, lim Limits) (vals []any, hit Budget, err error) {
	defer func() {
		// gopher-lua turns panics inside the VM into errors; this catches a
		// panic in the conversions around it, so that no call can take the
		// worker (and the process) down.
		if r := recover(); r != nil {
			w.budget.end()
			w.budget.reset()
			w.discard(gen, v)
			vals, hit = nil, BudgetPanic
			err = budgetError(gen, c.Fn, BudgetPanic, fmt.Errorf("panic: %v", r))
		}
	}()
	now := time.Now()
	deadline := now.Add(lim.CallTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	w.budget.begin(now, deadline, lim.CPUTime)
	vals, err = v.call(c.Fn, c.Args)
	hit = w.budget.end()
	if hit == BudgetNone {
		hit = v.poison
	}
	if hit != BudgetNone {
		w.budget.reset()
		w.discard(gen, v)
		if err != nil {
			err = budgetError(gen, c.Fn, hit, err)
		}
		return vals, hit, err
	}
	return vals, BudgetNone, asCallError(err)
}

func (w *worker) runBatch(j *job, lim Limits) {
	var v *vm
	var buildErr error
	for i, c := range j.calls {
		if err := j.ctx.Err(); err != nil {
			j.results[i].Err = gamemesh.Wrap(gamemesh.CodeOf(err), err, "call not run: "+gamemesh.MessageOf(err))
			continue
		}
		j.nCalls++
		if v == nil && buildErr == nil {
			v, buildErr = w.vmFor(j.gen, lim)
		}
		if buildErr != nil {
			j.results[i].Err = buildErr
			j.nErrs++
			continue
		}
		vals, hit, err := w.callOne(j.ctx, j.gen, v, c, lim)
		if hit != BudgetNone {
			j.nKills++
			v = nil
		}
		if err != nil && countsAsError(err) {
			j.nErrs++
		}
		j.results[i] = Result{Values: vals, Err: err}
	}
	if buildErr != nil && BudgetOf(buildErr) != BudgetNone {
		j.nKills++
	}
}

// check builds a VM for a candidate generation, checks the required exports
// and runs self_test() if the module defines it.
func (w *worker) check(j *job, lim Limits) error {
	v, err := w.vmFor(j.gen, lim)
	if err != nil {
		return err
	}
	for _, name := range j.required {
		if v.fns[name] == nil {
			return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "module %s does not define the required function %s", j.gen.info.Module, name)
		}
	}
	if v.fns["self_test"] == nil {
		return nil
	}
	vals, _, err := w.callOne(j.ctx, j.gen, v, Call{Fn: "self_test"}, lim)
	if err != nil {
		return gamemesh.Wrap(gamemesh.CodeInvalidArgument, err, "self_test failed: "+errText(err))
	}
	if len(vals) == 0 || vals[0] != true {
		var got any
		if len(vals) > 0 {
			got = vals[0]
		}
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "self_test returned %v, want true", got)
	}
	return nil
}

// budgetError is the error of a call stopped by budget b.
func budgetError(gen *generation, fn string, b Budget, cause error) error {
	msg := string(b) + " budget exceeded"
	var se *ScriptError
	if errors.As(cause, &se) {
		msg = se.Message
	}
	return (&ScriptError{Module: gen.info.Module, Generation: gen.info.Number, Hash: gen.info.Hash, Fn: fn, Budget: b, Message: msg}).asError()
}

// asCallError wraps a bare *ScriptError; other errors are already client-facing.
func asCallError(err error) error {
	if se, ok := err.(*ScriptError); ok {
		return se.asError()
	}
	return err
}

// countsAsError tells whether a failed call counts against its generation:
// bad arguments and the caller's cancellation do not.
func countsAsError(err error) bool {
	switch {
	case BudgetOf(err) == BudgetCancelled:
		return false
	case isScriptError(err):
		return true
	}
	return gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument
}

func isScriptError(err error) bool {
	var se *ScriptError
	return errors.As(err, &se)
}

// errText is the most useful text of err for an operator: the script's own
// message when there is one.
func errText(err error) string {
	var se *ScriptError
	if errors.As(err, &se) {
		return se.Error()
	}
	return gamemesh.MessageOf(err)
}
