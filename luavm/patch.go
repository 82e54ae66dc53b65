package luavm

import (
	"context"
	"time"

	"github.com/gamemesh/gamemesh"
)

// PatchOptions describe where a patch comes from.
type PatchOptions struct {
	// By is who pushed it (an operator, "fswatch", "cluster").
	By string
	// Source is where it came from ("dir:scripts/achievement", "ctl push").
	Source string
	// Number, when positive and free, is the generation number to use (the
	// cluster Publisher assigns them so every host agrees); otherwise the
	// next number of the module.
	Number int
	// CreatedAt defaults to now.
	CreatedAt time.Time
	// SkipCanary swaps the generation in at once.
	SkipCanary bool
}

// Patch checks b off to the side and then makes it a generation of its
// module. The check builds a VM from the bundle on a worker (running the
// scripts' top level under the call budgets), requires the functions the
// host declared for the module (Options.Required), and runs self_test() if
// the module defines one: it must return true. A bundle that fails is
// refused with INVALID_ARGUMENT and the reason; nothing changes.
//
// An accepted bundle becomes the active generation at once if the module has
// none (or SkipCanary, or the canary policy is disabled); otherwise it starts
// a canary (see CanaryPolicy), replacing any canary in progress. Patching the
// active bundle again is a no-op that returns the active generation.
//
// The swap is one atomic pointer store: batches already dispatched finish on
// the generation they started on.
func (p *Pool) Patch(ctx context.Context, b *Bundle, opts PatchOptions) (Generation, error) {
	if err := p.ready(); err != nil {
		return Generation{}, err
	}
	if b == nil {
		return Generation{}, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "nil bundle")
	}
	m := p.moduleFor(b.module)
	m.patchMu.Lock()
	defer m.patchMu.Unlock()

	m.mu.Lock()
	r := m.route.Load()
	if r.canary != nil && r.canary.info.Hash == b.hash {
		m.mu.Unlock()
		return r.canary.info, nil
	}
	if r.active != nil && r.active.info.Hash == b.hash {
		m.mu.Unlock()
		if r.canary != nil {
			// Pushing the active code again ends the canary in progress.
			return p.Rollback(r.active.info.Module, r.active.info.Number, opts.By)
		}
		return r.active.info, nil
	}
	gen := m.byHash(b.hash)
	isNew := gen == nil
	if isNew {
		number := opts.Number
		if number > 0 && m.byNumber(number) != nil {
			p.log.Warn("patch number taken, using the next one", "module", b.module, "number", number)
			number = 0
		}
		if number <= 0 {
			number = m.maxNumber + 1
		}
		created := opts.CreatedAt
		if created.IsZero() {
			created = time.Now().UTC()
		}
		gen = &generation{
			info:   Generation{Module: b.module, Number: number, Hash: b.hash, CreatedAt: created, By: opts.By, Source: opts.Source},
			bundle: b,
		}
	}
	m.mu.Unlock()

	if err := p.runCheck(ctx, gen, m.required); err != nil {
		p.log.Warn("lua patch refused", "module", b.module, "hash", short(b.hash), "by", opts.By, "source", opts.Source, "err", errText(err))
		return Generation{}, gamemesh.Wrap(gamemesh.CodeInvalidArgument, err, "patch refused: "+errText(err))
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	if isNew {
		m.add(gen, p.keep)
	}
	policy := *p.canary.Load()
	r = m.route.Load()
	if r.active == nil || policy.Disabled || opts.SkipCanary {
		p.activateLocked(m, gen, "patch by "+opts.By)
		p.log.Info("lua generation active", "module", b.module, "gen", gen.info.Number, "hash", short(b.hash), "by", opts.By, "source", opts.Source)
	} else {
		p.startCanaryLocked(m, gen, policy)
		p.log.Info("lua canary started", "module", b.module, "gen", gen.info.Number, "hash", short(b.hash), "by", opts.By, "source", opts.Source,
			"base_gen", r.active.info.Number, "share", policy.Share)
	}
	return gen.info, nil
}

// Check runs Patch's checks on b without keeping it (for tools that want to
// refuse a push before publishing it).
func (p *Pool) Check(ctx context.Context, b *Bundle) error {
	if err := p.ready(); err != nil {
		return err
	}
	if b == nil {
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "nil bundle")
	}
	gen := &generation{info: Generation{Module: b.module, Hash: b.hash, Source: "check"}, bundle: b}
	gen.dropped.Store(true) // the worker closes the VM after the check
	return p.runCheck(ctx, gen, p.required[b.module])
}

func (p *Pool) runCheck(ctx context.Context, gen *generation, required []string) error {
	j := &job{ctx: ctx, gen: gen, check: true, required: required, done: make(chan struct{})}
	if err := p.runJob(ctx, j); err != nil {
		return err
	}
	return j.checkErr
}

// Rollback makes generation number (0: the one active before the current
// one) of module the active generation at once, ending any canary. The
// generation rolled back from is marked rolled_back. Unknown module or
// generation: NOT_FOUND.
func (p *Pool) Rollback(module string, number int, by string) (Generation, error) {
	m := p.lookup(module)
	if m == nil {
		return Generation{}, gamemesh.Errorf(gamemesh.CodeNotFound, "no script module %q", module)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.route.Load()
	if r.active == nil {
		return Generation{}, gamemesh.Errorf(gamemesh.CodeNotFound, "script module %q has no generation", module)
	}
	var target *generation
	if number == 0 {
		target = m.previous(r.active)
		if target == nil {
			return Generation{}, gamemesh.Errorf(gamemesh.CodeNotFound, "script module %q has no previous generation", module)
		}
	} else if target = m.byNumber(number); target == nil {
		return Generation{}, gamemesh.Errorf(gamemesh.CodeNotFound, "script module %q keeps no generation %d", module, number)
	}
	if target == r.active && r.canary == nil {
		return target.info, nil
	}
	from := r.active
	if r.canary != nil && target == r.active {
		from = r.canary
	}
	reason := "rolled back to generation " + itoa(target.info.Number) + " by " + by
	p.activateLocked(m, target, reason)
	from.state, from.reason = StateRolledBack, reason
	p.log.Warn("lua generation rolled back", "module", module, "from_gen", from.info.Number, "to_gen", target.info.Number,
		"hash", short(target.info.Hash), "by", by)
	return target.info, nil
}

// activateLocked makes gen the only serving generation of m.
func (p *Pool) activateLocked(m *module, gen *generation, why string) {
	r := m.route.Load()
	if r.run != nil {
		r.run.done = true
		r.run.timer.Stop()
		if r.canary != gen {
			r.canary.state, r.canary.reason = StateSuperseded, why
			r.canary.live.Store(false)
		}
	}
	if r.active != nil && r.active != gen {
		r.active.state, r.active.reason = StateRetired, ""
		r.active.live.Store(false)
	}
	gen.state, gen.reason, gen.canaryFailed = StateActive, "", false
	gen.live.Store(true)
	m.activations++
	gen.activations = m.activations
	m.route.Store(&route{active: gen})
	p.changed()
}

// startCanaryLocked puts gen on trial against m's active generation.
func (p *Pool) startCanaryLocked(m *module, gen *generation, policy CanaryPolicy) {
	r := m.route.Load()
	if r.run != nil {
		r.run.done = true
		r.run.timer.Stop()
		r.canary.state, r.canary.reason = StateSuperseded, "replaced by generation "+itoa(gen.info.Number)
		r.canary.live.Store(false)
	}
	run := &canaryRun{
		gen: gen, base: r.active, policy: policy, started: time.Now(),
		genCalls0: gen.calls.Load(), genErrs0: gen.errors.Load(),
		baseCalls0: r.active.calls.Load(), baseErrs0: r.active.errors.Load(),
	}
	run.timer = time.AfterFunc(policy.Duration, func() { p.judgeCanary(m, run, true) })
	gen.state, gen.reason, gen.canaryFailed = StateCanary, "", false
	gen.live.Store(true)
	m.route.Store(&route{active: r.active, canary: gen, share: policy.Share, run: run})
	p.changed()
}

// judgeCanary promotes or rolls back a canary when its counters say so.
func (p *Pool) judgeCanary(m *module, run *canaryRun, final bool) {
	v, why := run.judge(final)
	if v == verdictWait {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if run.done || m.route.Load().run != run {
		return
	}
	if p.isClosed() {
		return
	}
	switch v {
	case verdictPromote:
		p.activateLocked(m, run.gen, "")
		p.log.Info("lua canary promoted", "module", m.name, "gen", run.gen.info.Number, "hash", short(run.gen.info.Hash), "reason", why)
	case verdictRollback:
		run.done = true
		run.timer.Stop()
		run.gen.state, run.gen.reason, run.gen.canaryFailed = StateRolledBack, why, true
		run.gen.live.Store(false)
		m.route.Store(&route{active: run.base})
		p.changed()
		p.log.Warn("lua canary rolled back", "module", m.name, "gen", run.gen.info.Number, "hash", short(run.gen.info.Hash),
			"back_to_gen", run.base.info.Number, "reason", why)
	}
}

func (p *Pool) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}
