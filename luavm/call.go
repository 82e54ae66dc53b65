package luavm

import (
	"context"

	"github.com/gamemesh/gamemesh"
)

// CallBatch runs calls on module, all on the same generation, in one crossing
// to a worker, and returns one Result per call and the generation that
// answered. The generation is the active one or, for a share of batches, the
// canary. Each call has its own budgets; a call that hits one fails alone and
// the next call of the batch runs on a fresh VM.
//
// The error is for the batch as a whole: INVALID_ARGUMENT (empty, too large,
// bad function name), NOT_FOUND (no such module), UNAVAILABLE or
// SHUTTING_DOWN (pool not running), or the context's error while waiting for
// a worker. A batch handed to a worker is always completed: cancelling ctx
// then stops the running call and skips the rest.
func (p *Pool) CallBatch(ctx context.Context, module string, calls []Call) ([]Result, Generation, error) {
	if err := p.ready(); err != nil {
		return nil, Generation{}, err
	}
	lim := p.limits.Load()
	if len(calls) == 0 {
		return nil, Generation{}, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "empty batch")
	}
	if len(calls) > lim.MaxBatch {
		return nil, Generation{}, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "batch of %d calls exceeds the limit of %d", len(calls), lim.MaxBatch)
	}
	for _, c := range calls {
		if !validFnName(c.Fn) {
			return nil, Generation{}, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "bad script function name %q", c.Fn)
		}
	}
	m := p.lookup(module)
	if m == nil {
		return nil, Generation{}, gamemesh.Errorf(gamemesh.CodeNotFound, "no script module %q", module)
	}
	r := m.route.Load()
	if r.active == nil {
		return nil, Generation{}, gamemesh.Errorf(gamemesh.CodeNotFound, "script module %q has no generation", module)
	}
	gen := r.pick()
	j := &job{ctx: ctx, gen: gen, calls: calls, results: make([]Result, len(calls)), done: make(chan struct{})}
	if err := p.runJob(ctx, j); err != nil {
		return nil, gen.info, err
	}
	p.batches.Add(1)
	gen.calls.Add(uint64(j.nCalls))
	gen.errors.Add(uint64(j.nErrs))
	gen.kills.Add(uint64(j.nKills))
	gen.cpu.Add(int64(j.cpu))
	if j.nKills > 0 {
		p.logKills(gen, j)
	}
	if r.run != nil {
		p.judgeCanary(m, r.run, false)
	}
	return j.results, gen.info, nil
}

// Call runs one call: a convenience over CallBatch for paths where one
// crossing per call (~35 µs) does not matter.
func (p *Pool) Call(ctx context.Context, module, fn string, args ...any) ([]any, Generation, error) {
	res, gen, err := p.CallBatch(ctx, module, []Call{{Fn: fn, Args: args}})
	if err != nil {
		return nil, gen, err
	}
	return res[0].Values, gen, res[0].Err
}

func (p *Pool) logKills(gen *generation, j *job) {
	for i, r := range j.results {
		if b := BudgetOf(r.Err); b != BudgetNone {
			p.log.Warn("lua call stopped by budget", "module", gen.info.Module, "gen", gen.info.Number, "hash", short(gen.info.Hash),
				"fn", j.calls[i].Fn, "budget", string(b), "err", errText(r.Err))
		}
	}
}

func validFnName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// runJob hands j to a worker and waits for it.
func (p *Pool) runJob(ctx context.Context, j *job) error {
	select {
	case p.jobs <- j:
	case <-ctx.Done():
		return gamemesh.Wrap(gamemesh.CodeOf(ctx.Err()), ctx.Err(), "waiting for a lua worker: "+gamemesh.MessageOf(ctx.Err()))
	case <-p.done:
		return gamemesh.Errorf(gamemesh.CodeShuttingDown, "luavm pool is closed")
	}
	<-j.done
	return nil
}
