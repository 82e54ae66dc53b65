package gate

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// request checks a client request that passed the rate limit and starts its
// call; false ends the read loop.
func (s *session) request(env *gamev1.Envelope) bool {
	system, method, ok := gamemesh.Route(env.Route).Split()
	if !ok {
		return s.respondError(env, gamemesh.CodeUnknownRoute, fmt.Sprintf("unknown route %.64q: routes are system.method", env.Route))
	}
	if f := s.g.deps.Features; f != nil && !f.Enabled(system) {
		return s.respondError(env, gamemesh.CodeFeatureDisabled, fmt.Sprintf("%s is switched off", system))
	}
	if s.g.rt.takes(s, system, env.Route) {
		return s.realtime(env)
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
	s.inflight++
	ctx := s.callContext()
	s.mu.Unlock()
	s.calls.Add(1)
	seq, route, body := env.Seq, env.Route, env.Body
	s.g.workers.run(func() { s.call(ctx, seq, route, system, method, body) })
	return true
}

// call invokes one request with the gate's deadline and queues the answer.
// Errors reach the client as their code and client-safe message only.
func (s *session) call(ctx context.Context, seq uint64, route, app, method string, body []byte) {
	defer s.calls.Done()
	var start time.Time // the clock is read only for the latency metric
	if s.g.m != nil {
		start = time.Now()
	}
	out, err := s.g.deps.Invoker.Invoke(ctx, gamemesh.Request{
		App:    app,
		Method: method,
		Player: s.player,
		ID:     s.id + ":" + strconv.FormatUint(seq, 10),
		Body:   body,
	})
	resp := &gamev1.Envelope{Kind: gamev1.Kind_KIND_RESPONSE, ReplyTo: seq, Route: route}
	if err != nil {
		resp.Code, resp.Error = gamemesh.CodeOf(err), gamemesh.MessageOf(err)
		if resp.Code == gamemesh.CodeOK { // an *Error with code OK is still a failure
			resp.Code, resp.Error = gamemesh.CodeInternal, "internal error"
		}
		if resp.Code == gamemesh.CodeInternal || resp.Code == gamemesh.CodeUnavailable {
			s.log.Warn("call failed", "route", route, "code", resp.Code.String(), "err", err)
		}
	} else {
		resp.Body = out
	}
	if s.g.m != nil {
		s.g.m.callDone(route, resp.Code, time.Since(start))
	}
	// Queue the answer and count the call done in one step: the client may
	// send its next request as soon as it reads this answer, and a stopping
	// gate kicks only after the answer is queued.
	s.mu.Lock()
	s.send(resp)
	s.inflight--
	kick := s.draining && s.inflight == 0
	s.mu.Unlock()
	if kick {
		s.kick(gamemesh.CodeShuttingDown, "server is shutting down")
	}
}

// callContext returns the context of a call starting now: its deadline is
// CallDeadline from now, coarsened by at most 1/64 of it, because calls that
// start that close together share one context (a deadline context costs a
// timer and a registration with its parent; a pipelining client would pay
// them per request). A shared context is never cancelled early: it ends at its
// deadline or when the session ends. s.mu must be held.
func (s *session) callContext() context.Context {
	now := time.Now()
	if s.callCtx == nil || now.Sub(s.callCtxAt) > s.g.cfg.CallDeadline/64 {
		s.callCtx, s.callCancel = context.WithDeadline(s.ctx, now.Add(s.g.cfg.CallDeadline))
		s.callCtxAt = now
	}
	return s.callCtx
}
