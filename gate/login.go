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

// login handles the login frame of l's handshake session: a resume token
// resumes a detached session (see resume); a ticket is checked, its single
// use recorded, and the session admitted or queued. False ends the read loop.
func (g *Gate) login(l *link, env *gamev1.Envelope) bool {
	s := l.s
	var req gamev1.LoginRequest
	if err := proto.Unmarshal(env.Body, &req); err != nil {
		g.m.login(gamemesh.CodeBadRequest)
		s.kick(gamemesh.CodeBadRequest, "malformed login body: expected a LoginRequest")
		return false
	}
	if req.ResumeToken != "" {
		return g.resume(l, &req)
	}
	claims, err := g.deps.Tickets.Verify(req.Ticket, g.deps.Now())
	if err != nil {
		code := gamemesh.CodeOf(err)
		if code != gamemesh.CodeTicketExpired {
			code = gamemesh.CodeBadTicket
		}
		s.logger().Info("login refused", "code", code.String(), "err", err)
		g.m.login(code)
		s.kick(code, gamemesh.MessageOf(err))
		return false
	}
	ctx, cancel := context.WithTimeout(g.ctx, g.cfg.CallDeadline)
	err = g.deps.Used.Use(ctx, claims.ID, claims.ExpiresAt)
	cancel()
	switch {
	case errors.Is(err, gamemesh.ErrConflict):
		s.logger().Warn("login refused: ticket replayed", "player", claims.Player, "ticket", claims.ID)
		g.m.login(gamemesh.CodeTicketReplayed)
		s.kick(gamemesh.CodeTicketReplayed, "ticket already used")
		return false
	case err != nil:
		s.logger().Error("login refused: cannot record ticket use", "err", err)
		g.m.login(gamemesh.CodeUnavailable)
		s.kick(gamemesh.CodeUnavailable, "login unavailable, retry later")
		return false
	}
	g.ipDone(l) // authenticated: no longer counted against its address
	s.player = claims.Player
	s.remote = remoteOf(l)
	s.resumable = req.Resumable && g.cfg.ResumeGrace > 0
	s.codec = g.negotiate(req.Compression)
	s.ctx, s.cancel = context.WithCancel(g.ctx) // ends with the session (realtime links wait on it)
	return g.admit(s)
}

// admit puts a verified session online at once, or takes over the slot or
// queue place of the same player's older session on this gate (which is
// kicked: the new one wins), or queues it, or refuses it when the queue is
// full. Every login goes through the admission rate: while logins arrive
// faster than it, they queue even when slots are free, so that what is
// behind the gate sees at most AdmissionRate logins per second.
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
		// The player's slot (held by its live or detached session) is its own.
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
		s.sendInline(queueStatus(pos, int64(g.queue.Len())), putOpts{noReplay: true})
		g.mu.Unlock()
		old.kick(gamemesh.CodeKicked, "logged in elsewhere")
		g.registerQueued(s)
		return true
	}
	if g.queue.Len() == 0 && len(g.online) < lim.MaxOnline && g.admitLim.Allow() {
		g.online[p] = s
		g.mu.Unlock()
		return g.activate(s)
	}
	if g.queue.Len() >= lim.QueueCap {
		n := g.queue.Len()
		g.mu.Unlock()
		s.logger().Info("login refused: queue full", "queued", n)
		g.m.login(gamemesh.CodeServerFull)
		s.kick(gamemesh.CodeServerFull, "server full, try again later")
		return false
	}
	s.elem = g.queue.PushBack(s)
	g.queued[p] = s.elem
	n := int64(g.queue.Len())
	s.state.Store(stateQueued)
	s.lastPos = n
	s.queuedAt = now
	s.sendInline(queueStatus(n, n), putOpts{noReplay: true})
	g.mu.Unlock()
	g.wakeAdmission()
	g.registerQueued(s)
	return true
}

func queueStatus(pos, n int64) *gamev1.Envelope {
	body, _ := proto.Marshal(&gamev1.QueueStatus{Position: pos, Length: n}) // cannot fail
	return &gamev1.Envelope{Kind: gamev1.Kind_KIND_QUEUE, Body: body}
}

// register records s in the directory (under s.mu, see activate) and
// returns the player's previous location. It reports false, with the session
// kicked, when the directory cannot be reached.
func (g *Gate) register(s *session) (directory.Location, bool) {
	ctx, cancel := context.WithTimeout(g.ctx, g.cfg.CallDeadline)
	prev, err := g.deps.Directory.Register(ctx, s.player, directory.Location{Gate: g.cfg.ID, Session: s.id})
	cancel()
	if err != nil {
		s.logger().Error("login failed: directory", "err", err)
		g.m.login(gamemesh.CodeUnavailable)
		s.kick(gamemesh.CodeUnavailable, "login unavailable, retry later")
		return directory.Location{}, false
	}
	s.registered = true
	return prev, true
}

// registerQueued records a queued session in the directory, so that a login
// of the same player on another gate finds it and kicks it (a player waits
// in one queue at a time), and kicks the player's session on another gate.
func (g *Gate) registerQueued(s *session) {
	s.mu.Lock()
	if s.ended || s.registered || s.state.Load() != stateQueued {
		s.mu.Unlock()
		return
	}
	prev, ok := g.register(s)
	s.mu.Unlock()
	if ok && prev.Gate != "" && prev.Gate != g.cfg.ID {
		g.kickElsewhere(s, prev)
	}
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
	var prev directory.Location
	if !s.registered {
		var ok bool
		if prev, ok = g.register(s); !ok {
			s.mu.Unlock()
			return false
		}
	}
	s.state.Store(stateOnline)
	var token string
	if s.resumable {
		token = g.resumeToken(s)
	}
	s.mu.Unlock()
	if l := s.out.currentLink(); l != nil {
		// The read loop may wait with the queue's idle deadline.
		_ = l.t.raw().SetReadDeadline(time.Now().Add(g.cfg.IdleTimeout))
	}
	if s.resumable {
		s.out.enableReplay(g.cfg.ReplayFrames, g.cfg.ReplayBytes)
		g.mu.Lock()
		if g.online[s.player] == s {
			g.resumable[s.id] = s
		}
		g.mu.Unlock()
	}
	if prev.Gate != "" && prev.Gate != g.cfg.ID {
		g.kickElsewhere(s, prev)
	}
	if !s.queuedAt.IsZero() {
		g.m.queueWaited(time.Since(s.queuedAt))
	}

	now := g.deps.Now()
	lr := &gamev1.LoginResponse{
		PlayerId:            string(s.player),
		SessionId:           s.id,
		HeartbeatIntervalMs: g.cfg.HeartbeatInterval.Milliseconds(),
		ServerTimeMs:        now.UnixMilli(),
		ResumeToken:         token,
	}
	if token != "" {
		lr.ResumeGraceMs = g.cfg.ResumeGrace.Milliseconds()
	}
	if s.codec != nil {
		lr.Compression, lr.CompressMinBytes = s.codec.name, int64(g.cfg.CompressMin)
	}
	body, _ := proto.Marshal(lr)
	if !s.queued(s.out.put(&gamev1.Envelope{Kind: gamev1.Kind_KIND_RESPONSE, Route: "login", Body: body}, putOpts{login: true})) {
		return false
	}
	g.m.login(gamemesh.CodeOK)
	g.rt.online(s)
	s.logger().Debug("player online")
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
	if g.resumable[s.id] == s {
		delete(g.resumable, s.id)
	}
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
			s.logger().Warn("cannot unregister player", "err", err)
		}
		cancel()
		s.logger().Debug("player offline")
	}
}

// kickElsewhere asks the gate at prev, which held the player before s, to
// kick that older session (online or queued). A failure is logged: s goes on
// either way, and the older session ends by itself when its client leaves.
func (g *Gate) kickElsewhere(s *session, prev directory.Location) {
	log := s.logger()
	if g.deps.Publisher == nil {
		log.Info("player moved from another gate", "previous_gate", prev.Gate)
		return
	}
	ctx, cancel := context.WithTimeout(g.ctx, g.cfg.CallDeadline)
	err := directory.PublishKick(ctx, g.deps.Publisher, s.player, prev, gamemesh.CodeKicked, "logged in elsewhere")
	cancel()
	if err != nil {
		log.Warn("cannot kick the older session on another gate",
			"previous_gate", prev.Gate, "previous_session", prev.Session, "err", err)
		return
	}
	log.Info("player moved from another gate: older session kicked",
		"previous_gate", prev.Gate, "previous_session", prev.Session)
}
