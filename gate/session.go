package gate

import (
	"container/list"
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// Session states.
const (
	stateHandshake int32 = iota // waiting for the login frame
	stateQueued                 // logged in, waiting in the admission queue
	stateOnline                 // admitted (attached to a connection or detached, see outbox)
)

// session is one login: it starts with a connection (its link) and, when
// resumable, outlives it for the resume grace period (detached), holding its
// slot, its directory entry and the frames the client has not acknowledged;
// a resume attaches a new link to it. Calls run on the gate's workers and
// are counted in calls. The read loop of the current link handles its
// frames (see link).
type session struct {
	g   *Gate
	id  string
	out outbox

	state atomic.Int32

	// player is set once by the read loop at login, before the session is
	// published in the gate's maps. limiter counts every client frame; it is
	// made with the session, brought up to date by admit under g.mu, used by
	// the read loop, and changed by SetLimits under g.mu.
	player  gamemesh.PlayerID
	limiter *rate.Limiter
	strikes int // refused frames not yet outweighed by accepted ones; read loop only
	// remote is the client's address at login (for logs).
	remote string
	// via is the read loop handling this session's frames; set by that
	// read loop, read by it (request) only.
	via *reader
	// ctx is the parent of this session's calls (one registration with the
	// gate's context per session, not per call), made at login; cancelled
	// when the session ends.
	ctx    context.Context
	cancel context.CancelFunc
	calls  sync.WaitGroup // calls in flight, run on the gate's workers

	// Set at login by the read loop, read-only afterwards.
	resumable bool   // the client asked for it and the gate allows it
	codec     *codec // negotiated body compression, nil for none

	mu         sync.Mutex
	callCtx    context.Context // shared by calls starting together, see callContext
	callCancel context.CancelFunc
	callCtxAt  time.Time
	inflight   int
	draining   bool // the gate is stopping: kick once inflight reaches 0
	registered bool // the directory holds this session
	ended      bool // release ran: do not register any more
	// Resumable sessions only.
	resumeGen uint32              // the generation of the valid resume token
	maxReq    uint64              // the highest request seq seen
	pending   map[uint64]struct{} // request seqs in flight
	grace     *time.Timer         // ends a detached session

	finished atomic.Bool

	// Guarded by g.mu.
	elem     *list.Element // place in the admission queue
	lastPos  int64         // last position told to the client
	queuedAt time.Time     // when it joined the queue (zero: never queued)
}

func (g *Gate) newSession(l *link) *session {
	lim := g.limits.Load()
	s := &session{
		g:       g,
		id:      gamemesh.NewID(),
		limiter: rate.NewLimiter(rate.Limit(lim.RateLimit), lim.RateBurst),
	}
	s.out.s = s
	s.out.link = l
	return s
}

// logger returns the session's logger (built on demand: sessions keep none).
func (s *session) logger() *slog.Logger {
	l := s.g.log.With("session", s.id)
	if s.player != "" {
		l = l.With("player", s.player)
	}
	if s.remote != "" {
		l = l.With("remote", s.remote)
	}
	return l
}

// send queues env; a full queue disconnects the slow consumer. It reports
// whether the frame was queued.
func (s *session) send(env *gamev1.Envelope) bool {
	return s.queued(s.out.put(env, putOpts{}))
}

// sendInline is send from the read loop, which writes what it queued
// before it waits for input again.
func (s *session) sendInline(env *gamev1.Envelope, opts putOpts) bool {
	opts.hold = true
	return s.queued(s.out.put(env, opts))
}

// queued handles the result of queueing a frame.
func (s *session) queued(err error) bool {
	if errors.Is(err, errOutFull) {
		s.logger().Warn("disconnecting slow consumer", "queued", s.g.cfg.OutQueue)
		s.abortLink()
	}
	return err == nil
}

// kick queues a final KICK frame; the session ends once it is written (at
// once when it has no connection). It reports whether this call queued it.
func (s *session) kick(code gamemesh.Code, msg string) bool {
	if s.out.put(&gamev1.Envelope{Kind: gamev1.Kind_KIND_KICK, Code: code, Error: msg}, putOpts{final: true}) != nil {
		return false
	}
	s.g.m.kick(code)
	level := slog.LevelInfo
	if code == gamemesh.CodeShuttingDown {
		level = slog.LevelDebug
	}
	s.logger().Log(context.Background(), level, "kicking session", "code", code.String(), "reason", msg)
	if !s.out.hasLink() {
		go s.finish() // detached: nobody to tell
	}
	return true
}

// abortLink closes the session's connection at once, dropping what is
// queued for it; a resumable session is detached, any other ends.
func (s *session) abortLink() {
	s.out.mu.Lock()
	l := s.out.link
	s.out.mu.Unlock()
	if l != nil {
		l.abort()
	}
}

// abort ends the session at once, closing its connection.
func (s *session) abort() {
	attached := s.out.hasLink()
	s.out.end()
	if !attached {
		go s.finish()
	}
}

// shutdown asks the session to end for a gate stop: new requests are refused
// and the KICK is sent once in-flight calls have answered.
func (s *session) shutdown() {
	s.mu.Lock()
	s.draining = true
	idle := s.inflight == 0
	s.mu.Unlock()
	if idle {
		s.kick(gamemesh.CodeShuttingDown, "server is shutting down")
	}
}

// logout ends the session at the client's request: no grace, no KICK.
func (s *session) logout() {
	s.logger().Debug("logout")
	s.out.end()
}

// finish ends the session once: it takes no more frames, leaves the gate
// and the directory, and waits for its calls. Its caller is whatever ended
// it: the read loop of its last link, the grace timer, a kick while detached.
func (s *session) finish() {
	if !s.finished.CompareAndSwap(false, true) {
		return
	}
	s.out.end()
	s.mu.Lock()
	if s.grace != nil {
		s.grace.Stop()
	}
	s.mu.Unlock()
	s.g.release(s)
	s.calls.Wait()
	s.mu.Lock()
	if s.cancel != nil {
		s.cancel() // also ends the shared call contexts
	}
	if s.callCancel != nil {
		s.callCancel()
	}
	s.mu.Unlock()
	s.g.wg.Done()
}

// respondError answers the request env with an error, without a call.
func (s *session) respondError(env *gamev1.Envelope, code gamemesh.Code, msg string) bool {
	s.g.m.requestRefused(code)
	return s.sendInline(&gamev1.Envelope{Kind: gamev1.Kind_KIND_RESPONSE, ReplyTo: env.Seq, Route: env.Route, Code: code, Error: msg}, putOpts{})
}
