package gate

import (
	"context"
	"errors"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/directory"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// login checks the login frame's ticket, records its single use and admits or
// queues the session; false ends the read loop.
func (g *Gate) login(s *session, env *gamev1.Envelope) bool {
	var req gamev1.LoginRequest
	if err := proto.Unmarshal(env.Body, &req); err != nil {
		g.m.login(gamemesh.CodeBadRequest)
		s.kick(gamemesh.CodeBadRequest, "malformed login body: expected a LoginRequest")
		return false
	}
	claims, err := g.deps.Tickets.Verify(req.Ticket, g.deps.Now())
	if err != nil {
		code := gamemesh.CodeOf(err)
		if code != gamemesh.CodeTicketExpired {
			code = gamemesh.CodeBadTicket
		}
		s.log.Info("login refused", "code", code.String(), "err", err)
		g.m.login(code)
		s.kick(code, gamemesh.MessageOf(err))
		return false
	}
	ctx, cancel := context.WithTimeout(g.ctx, g.cfg.CallDeadline)
	err = g.deps.Used.Use(ctx, claims.ID, claims.ExpiresAt)
	cancel()
	switch {
	case errors.Is(err, gamemesh.ErrConflict):
		s.log.Warn("login refused: ticket replayed", "player", claims.Player, "ticket", claims.ID)
		g.m.login(gamemesh.CodeTicketReplayed)
		s.kick(gamemesh.CodeTicketReplayed, "ticket already used")
		return false
	case err != nil:
		s.log.Error("login refused: cannot record ticket use", "err", err)
		g.m.login(gamemesh.CodeUnavailable)
		s.kick(gamemesh.CodeUnavailable, "login unavailable, retry later")
		return false
	}
	s.player = claims.Player
	s.ctx, s.cancel = context.WithCancel(g.ctx)
	return g.admit(s)
}

// admit puts a verified session online at once, or takes over the slot or
// queue place of the same player's older session on this gate (which is
// kicked: the new one wins), or queues it, or refuses it when the queue is full.
func (g *Gate) admit(s *session) bool {
	p := s.player
	g.mu.Lock()
	// The limiter is brought up to date under g.mu, where SetLimits changes
	// the limits and the limiters of published sessions: no session misses a
	// change (it was made with the limits in force when the connection came).
	lim := g.limits.Load()
	now := time.Now()
	s.limiter.SetLimitAt(now, rate.Limit(lim.RateLimit))
	s.limiter.SetBurstAt(now, lim.RateBurst)
	if g.stopping {
		g.mu.Unlock()
		g.m.login(gamemesh.CodeShuttingDown)
		s.kick(gamemesh.CodeShuttingDown, "server is shutting down")
		return false
	}
	if old := g.online[p]; old != nil {
		g.online[p] = s
		g.mu.Unlock()
		old.kick(gamemesh.CodeKicked, "logged in elsewhere")
		// Wait for an activation of old that is registering it right now, so
		// that the directory ends up pointing at s.
		_ = old.settle()
		return g.activate(s)
	}
	if el := g.queued[p]; el != nil {
		old := el.Value.(*session)
		el.Value, s.elem, old.elem = s, el, nil
		pos := int64(1)
		for e := g.queue.Front(); e != el; e = e.Next() {
			pos++
		}
		s.state.Store(stateQueued)
		s.lastPos = pos
		s.send(queueStatus(pos, int64(g.queue.Len())))
		g.mu.Unlock()
		old.kick(gamemesh.CodeKicked, "logged in elsewhere")
		return true
	}
	if g.queue.Len() == 0 && len(g.online) < lim.MaxOnline {
		g.online[p] = s
		g.mu.Unlock()
		return g.activate(s)
	}
	if g.queue.Len() >= lim.QueueCap {
		n := g.queue.Len()
		g.mu.Unlock()
		s.log.Info("login refused: queue full", "queued", n)
		g.m.login(gamemesh.CodeServerFull)
		s.kick(gamemesh.CodeServerFull, "server full, try again later")
		return false
	}
	s.elem = g.queue.PushBack(s)
	g.queued[p] = s.elem
	n := int64(g.queue.Len())
	s.state.Store(stateQueued)
	s.lastPos = n
	s.send(queueStatus(n, n))
	g.mu.Unlock()
	g.wakeAdmission()
	return true
}

func queueStatus(pos, n int64) *gamev1.Envelope {
	body, _ := proto.Marshal(&gamev1.QueueStatus{Position: pos, Length: n}) // cannot fail
	return &gamev1.Envelope{Kind: gamev1.Kind_KIND_QUEUE, Body: body}
}

// activate registers an admitted session (which already holds a slot in
// g.online) in the directory and answers its login. It holds s.mu across the
// directory call so that release, which unregisters, and a newer login of the
// same player, which registers, wait for it.
func (g *Gate) activate(s *session) bool {
	s.mu.Lock()
	g.mu.RLock()
	superseded := g.online[s.player] != s
	g.mu.RUnlock()
	if s.ended || superseded {
		s.mu.Unlock()
		return false
	}
	ctx, cancel := context.WithTimeout(g.ctx, g.cfg.CallDeadline)
	prev, err := g.deps.Directory.Register(ctx, s.player, directory.Location{Gate: g.cfg.ID, Session: s.id})
	cancel()
	if err != nil {
		s.mu.Unlock()
		s.log.Error("login failed: directory", "player", s.player, "err", err)
		g.m.login(gamemesh.CodeUnavailable)
		s.kick(gamemesh.CodeUnavailable, "login unavailable, retry later")
		return false
	}
	s.registered = true
	s.state.Store(stateOnline)
	s.mu.Unlock()
	_ = s.t.raw().SetReadDeadline(time.Now().Add(g.cfg.IdleTimeout))

	if prev.Gate != "" && prev.Gate != g.cfg.ID {
		g.kickElsewhere(s, prev)
	}
	now := g.deps.Now()
	body, _ := proto.Marshal(&gamev1.LoginResponse{
		PlayerId:            string(s.player),
		SessionId:           s.id,
		HeartbeatIntervalMs: g.cfg.HeartbeatInterval.Milliseconds(),
		ServerTimeMs:        now.UnixMilli(),
	})
	if !s.queued(s.out.putLogin(&gamev1.Envelope{Kind: gamev1.Kind_KIND_RESPONSE, Route: "login", Body: body})) {
		return false
	}
	g.m.login(gamemesh.CodeOK)
	g.rt.online(s)
	s.log.Debug("player online", "player", s.player)
	return true
}

// settle waits until no activation of s is in progress (activate holds s.mu
// across the directory call) and reports whether s was registered.
func (s *session) settle() (registered bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.registered
}

// release removes an ended session from the gate and the directory.
func (g *Gate) release(s *session) {
	wake := false
	g.mu.Lock()
	delete(g.conns, s)
	if s.player != "" {
		if g.online[s.player] == s {
			delete(g.online, s.player)
			wake = true
		}
		if s.elem != nil {
			g.queue.Remove(s.elem)
			if g.queued[s.player] == s.elem {
				delete(g.queued, s.player)
			}
			s.elem = nil
			g.queueDirty = true
			wake = true
		}
	}
	g.mu.Unlock()
	if wake {
		g.wakeAdmission()
	}

	s.mu.Lock()
	s.ended = true
	registered := s.registered
	s.mu.Unlock()
	g.rt.offline(s)
	if registered {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(g.ctx), g.cfg.CallDeadline)
		if err := g.deps.Directory.Unregister(ctx, s.player, s.id); err != nil {
			s.log.Warn("cannot unregister player", "player", s.player, "err", err)
		}
		cancel()
		s.log.Debug("player offline", "player", s.player)
	}
}

// kickElsewhere asks the gate at prev, which held the player before s, to
// kick that older session. A failure is logged: s is online either way, and
// the older session ends by itself when its client leaves.
func (g *Gate) kickElsewhere(s *session, prev directory.Location) {
	if g.deps.Publisher == nil {
		s.log.Info("player moved from another gate", "player", s.player, "previous_gate", prev.Gate)
		return
	}
	ctx, cancel := context.WithTimeout(g.ctx, g.cfg.CallDeadline)
	err := directory.PublishKick(ctx, g.deps.Publisher, s.player, prev, gamemesh.CodeKicked, "logged in elsewhere")
	cancel()
	if err != nil {
		s.log.Warn("cannot kick the older session on another gate", "player", s.player,
			"previous_gate", prev.Gate, "previous_session", prev.Session, "err", err)
		return
	}
	s.log.Info("player moved from another gate: older session kicked", "player", s.player,
		"previous_gate", prev.Gate, "previous_session", prev.Session)
}
