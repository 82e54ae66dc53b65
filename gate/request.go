package gate

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// request checks a client request that passed the rate limit and starts its
// call; false ends the read loop. A resumable session answers a request it
// has seen before (a client repeating what it sent before a drop) from its
// replay buffer, or lets the call in flight answer it, and never runs it twice.
func (s *session) request(env *gamev1.Envelope) bool {
	system, method, ok := gamemesh.Route(env.Route).Split()
	if !ok {
		return s.respondError(env, gamemesh.CodeUnknownRoute, fmt.Sprintf("unknown route %.64q: routes are system.method", env.Route))
	}
	if f := s.g.deps.Features; f != nil && !f.Enabled(system) {
		return s.respondError(env, gamemesh.CodeFeatureDisabled, fmt.Sprintf("%s is switched off", system))
	}
	body, err := s.requestBody(env)
	if err != nil {
		return s.respondError(env, gamemesh.CodeOf(err), gamemesh.MessageOf(err))
	}
	if s.g.rt.takes(s, system, env.Route) {
		if s.repeated(env) {
			return s.answerRepeat(env, s.g.rt.inflight(s, env.Seq))
		}
		return s.realtime(env, body)
	}
	s.mu.Lock()
	switch {
	case s.draining:
		s.mu.Unlock()
		return s.respondError(env, gamemesh.CodeShuttingDown, "server is shutting down")
	case s.inflight >= s.g.cfg.MaxInflight:
		s.mu.Unlock()
		return s.respondError(env, gamemesh.CodeRateLimited, fmt.Sprintf("too many requests in flight: at most %d", s.g.cfg.MaxInflight))
	}
	if s.resumable {
		if _, dup := s.pending[env.Seq]; dup || env.Seq <= s.maxReq {
			s.mu.Unlock()
			return s.answerRepeat(env, dup)
		}
		s.maxReq = env.Seq
		if s.pending == nil {
			s.pending = make(map[uint64]struct{})
		}
		s.pending[env.Seq] = struct{}{}
	}
	s.inflight++
	var now time.Time
	if s.via != nil {
		now = s.via.now
	} else {
		now = time.Now()
	}
	ctx := s.callContext(now)
	s.mu.Unlock()
	s.calls.Add(1)
	j := getJob()
	j.s, j.ctx, j.seq, j.route, j.app, j.method, j.body = s, ctx, env.Seq, env.Route, system, method, body
	if r := s.via; r != nil {
		j.known = r.interned
		r.runInline(j)
	} else {
		s.g.workers.run(j.fn)
	}
	return true
}

// repeated reports whether a resumable session's client sends a request
// number it sent before (it repeats what it sent before a drop), and
// otherwise records the number. Function calls keep this under s.mu in
// request; realtime requests ask here.
func (s *session) repeated(env *gamev1.Envelope) bool {
	if !s.resumable {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if env.Seq <= s.maxReq {
		return true
	}
	s.maxReq = env.Seq
	return false
}

// answerRepeat answers a repeated request without running it again: nothing
// while the first one is still in flight (its answer is on its way), its
// answer from the replay buffer, or ALREADY_DONE when that is no longer kept.
func (s *session) answerRepeat(env *gamev1.Envelope, inFlight bool) bool {
	if inFlight {
		return true
	}
	if p := s.out.cached(env.Seq); p != nil {
		s.out.putRaw(p)
		return true
	}
	return s.respondError(env, gamemesh.CodeAlreadyDone,
		fmt.Sprintf("request %d was answered before and its answer is no longer kept: number requests upwards from 1", env.Seq))
}

// callJob carries one call to a worker; jobs are pooled with their func
// value, so starting a call allocates neither.
type callJob struct {
	s                  *session
	ctx                context.Context
	seq                uint64
	route, app, method string
	body               []byte
	inline             bool // run by the read loop, which writes the answer
	known              bool // the route was interned: no need to learn it
	fn                 func()
}

var jobs sync.Pool // of *callJob

func getJob() *callJob {
	if j, _ := jobs.Get().(*callJob); j != nil {
		return j
	}
	j := new(callJob)
	j.fn = j.run
	return j
}

func (j *callJob) run() {
	s, ctx, seq, route, app, method, body, inline, known := j.s, j.ctx, j.seq, j.route, j.app, j.method, j.body, j.inline, j.known
	j.s, j.ctx, j.route, j.app, j.method, j.body, j.inline, j.known = nil, nil, "", "", "", nil, false, false
	jobs.Put(j)
	s.call(ctx, seq, route, app, method, body, inline, known)
}

// call invokes one request with the gate's deadline and queues the answer
// (and writes it, unless the read loop runs the call and writes it with its
// batch). Errors reach the client as their code and client-safe message only.
func (s *session) call(ctx context.Context, seq uint64, route, app, method string, body []byte, inline, known bool) {
	defer s.calls.Done()
	var start time.Time // the clock is read only for the latency metric
	if s.g.m != nil {
		start = time.Now()
	}
	out, err := s.g.deps.Invoker.Invoke(ctx, gamemesh.Request{
		App:    app,
		Method: method,
		Player: s.player,
		ID:     requestID(s.id, seq),
		Body:   body,
	})
	resp := gamev1.Envelope{Kind: gamev1.Kind_KIND_RESPONSE, ReplyTo: seq, Route: route}
	if err != nil {
		resp.Code, resp.Error = gamemesh.CodeOf(err), gamemesh.MessageOf(err)
		if resp.Code == gamemesh.CodeOK { // an *Error with code OK is still a failure
			resp.Code, resp.Error = gamemesh.CodeInternal, "internal error"
		}
		if resp.Code == gamemesh.CodeInternal || resp.Code == gamemesh.CodeUnavailable {
			s.logger().Warn("call failed", "route", route, "code", resp.Code.String(), "err", err)
		}
	} else {
		resp.Body = out
	}
	if !known && resp.Code != gamemesh.CodeUnknownRoute {
		s.g.routes.learn(route)
	}
	if s.g.m != nil {
		s.g.m.callDone(route, resp.Code, time.Since(start))
	}
	// Queue the answer and count the call done in one step: the client may
	// send its next request as soon as it reads this answer, and a stopping
	// gate kicks only after the answer is queued. The write happens after.
	s.mu.Lock()
	qerr := s.out.put(&resp, putOpts{hold: true})
	s.inflight--
	delete(s.pending, seq)
	kick := s.draining && s.inflight == 0
	s.mu.Unlock()
	s.queued(qerr)
	if !inline {
		s.out.flushNow()
	}
	if kick {
		s.kick(gamemesh.CodeShuttingDown, "server is shutting down")
	}
}

// requestID names a call for idempotency: session id ":" request seq.
func requestID(session string, seq uint64) string {
	var buf [96]byte
	b := append(buf[:0], session...)
	b = strconv.AppendUint(append(b, ':'), seq, 10)
	return string(b)
}

// callContext returns the context of a call starting now: its deadline is
// CallDeadline from now, coarsened by at most 1/64 of it, because calls that
// start that close together share one context (a deadline context costs a
// timer and a registration with its parent; a pipelining client would pay
// them per request). A shared context is never cancelled early: it ends at its
// deadline or when the session ends. s.mu must be held.
func (s *session) callContext(now time.Time) context.Context {
	if s.callCtx == nil || now.Sub(s.callCtxAt) > s.g.cfg.CallDeadline/64 {
		s.callCtx, s.callCancel = context.WithDeadline(s.ctx, now.Add(s.g.cfg.CallDeadline))
		s.callCtxAt = now
	}
	return s.callCtx
}
