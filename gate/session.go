package gate

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/wire"
)

// kickLinger is how long a kicked connection is drained after its last frame,
// so that the client reads the KICK before the socket closes (closing with
// unread input would reset the connection and lose it).
const kickLinger = time.Second

// maxKeptWriteBuffer is the largest write buffer a session keeps between batches.
const maxKeptWriteBuffer = 64 << 10

// Session states.
const (
	stateHandshake int32 = iota // waiting for the login frame
	stateQueued                 // logged in, waiting in the admission queue
	stateOnline                 // admitted
)

// session is one client connection. The serving goroutine runs the read loop;
// writeLoop is the second goroutine; calls run on the gate's workers and are
// counted in calls.
type session struct {
	g     *Gate
	id    string
	t     transport
	log   *slog.Logger
	out   *outbox
	start time.Time

	state   atomic.Int32
	written atomic.Bool // the final frame was written: drain before closing

	// player is set once by the read loop at login, before the session is
	// published in the gate's maps. limiter counts every client frame; it is
	// made with the session, brought up to date by admit under g.mu, used by
	// the read loop, and changed by SetLimits under g.mu.
	player  gamemesh.PlayerID
	limiter *rate.Limiter
	strikes int // refused frames not yet outweighed by accepted ones; read loop only
	// ctx is the parent of this session's calls (one registration with the
	// gate's context per session, not per call); cancelled when serve ends.
	ctx    context.Context
	cancel context.CancelFunc

	writeDone chan struct{}
	seq       uint64         // numbers outgoing frames; write loop only
	calls     sync.WaitGroup // calls in flight, run on the gate's workers

	armedState int32     // the state whose idle deadline is set; read loop only
	armedAt    time.Time // when it was last moved

	mu         sync.Mutex
	callCtx    context.Context // shared by calls starting together, see callContext
	callCancel context.CancelFunc
	callCtxAt  time.Time
	inflight   int
	draining   bool // the gate is stopping: kick once inflight reaches 0
	registered bool // the directory holds this session
	ended      bool // release ran: do not register any more

	// Guarded by g.mu.
	elem    *list.Element // place in the admission queue
	lastPos int64         // last position told to the client
}

func (g *Gate) newSession(t transport) *session {
	id := gamemesh.NewID()
	lim := g.limits.Load()
	return &session{
		g:         g,
		id:        id,
		t:         t,
		log:       g.log.With("session", id, "remote", t.raw().RemoteAddr().String()),
		out:       newOutbox(g.cfg.OutQueue),
		start:     time.Now(),
		limiter:   rate.NewLimiter(rate.Limit(lim.RateLimit), lim.RateBurst),
		writeDone: make(chan struct{}),
	}
}

// serve runs the session to its end: read loop here, write loop alongside,
// then drain, close, release and wait for in-flight calls.
func (g *Gate) serve(s *session) {
	go s.writeLoop()
	s.readLoop()
	s.out.closeUnlessFinal()
	<-s.writeDone
	if s.written.Load() {
		s.drain()
	}
	_ = s.t.raw().Close()
	g.release(s)
	s.calls.Wait()
	if s.cancel != nil {
		s.cancel() // also ends the shared call contexts
	}
	if s.callCancel != nil {
		s.callCancel()
	}
}

// send queues env; a full queue disconnects the slow consumer. It reports
// whether the frame was queued.
func (s *session) send(env *gamev1.Envelope) bool { return s.queued(s.out.put(env)) }

// queued handles the result of queueing a frame.
func (s *session) queued(err error) bool {
	if errors.Is(err, errOutFull) {
		s.log.Warn("disconnecting slow consumer", "queued", s.g.cfg.OutQueue)
		s.abort()
	}
	return err == nil
}

// kick queues a final KICK frame; the session closes once it is written. It
// reports whether this call queued it.
func (s *session) kick(code gamemesh.Code, msg string) bool {
	ok := s.out.putFinal(&gamev1.Envelope{Kind: gamev1.Kind_KIND_KICK, Code: code, Error: msg})
	if ok {
		s.g.m.kick(code)
		level := slog.LevelInfo
		if code == gamemesh.CodeShuttingDown {
			level = slog.LevelDebug
		}
		s.log.Log(context.Background(), level, "kicking session", "code", code.String(), "reason", msg)
	}
	return ok
}

// abort closes the connection at once, dropping queued frames.
func (s *session) abort() {
	s.out.close()
	_ = s.t.raw().Close()
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

// drain discards input for a moment after the final frame so that the client
// can read it and close first.
func (s *session) drain() {
	c := s.t.raw()
	_ = c.SetReadDeadline(time.Now().Add(kickLinger))
	_, _ = io.Copy(io.Discard, c)
}

// writeLoop writes everything queued in one Write per batch, numbering frames
// from 1, until the final frame is written or the queue is closed. It is the
// only writer of the connection (a pong is queued like a frame) and the only
// one to set its write deadline. Frames over the client's limit are replaced
// or dropped here (see oversize), where their exact size is known.
func (s *session) writeLoop() {
	defer close(s.writeDone)
	c := s.t.raw()
	var buf []byte
	var spare []*gamev1.Envelope
	for {
		<-s.out.wake
		sent := s.seq
		// Let the goroutines that are about to queue a frame (answers of
		// pipelined calls) run first, so that one write carries them all.
		runtime.Gosched()
		batch, ctrl, final, closed := s.out.take(spare)
		if closed {
			return
		}
		buf = append(buf[:0], ctrl...)
		for _, env := range batch {
			env.Seq = s.seq + 1
			n := proto.Size(env)
			if n > s.g.cfg.MaxOutFrame {
				if env = s.oversize(env, n); env == nil {
					continue
				}
				n = proto.Size(env)
			}
			s.seq++
			var err error
			if buf, err = s.t.appendFrame(buf, env, n); err != nil {
				s.log.Error("dropping session: cannot encode frame", "err", err)
				s.abort()
				return
			}
		}
		clear(batch)
		spare = batch[:0]
		if final {
			buf = s.t.appendGoodbye(buf)
		}
		if len(buf) > 0 {
			_ = c.SetWriteDeadline(time.Now().Add(s.g.cfg.WriteTimeout))
			if _, err := c.Write(buf); err != nil {
				s.log.Debug("write failed", "err", err)
				s.abort()
				return
			}
			s.g.m.framesSent(int(s.seq - sent))
		}
		if final {
			if cw, ok := c.(interface{ CloseWrite() error }); ok {
				_ = cw.CloseWrite()
			}
			s.written.Store(true)
			_ = c.SetReadDeadline(time.Now()) // wake the read loop
			return
		}
		if cap(buf) > maxKeptWriteBuffer {
			buf = nil
		}
	}
}

// armDeadline sets the read deadline for the current state. It reports false
// when the session has ended and reading must stop. The deadline is set again
// if the state changed meanwhile (the admission loop moves sessions online
// while the read loop waits). Queued and online, the idle deadline
// (QueueIdleTimeout, IdleTimeout) is moved at most every timeout/16 and set
// that much further, so the timeout is rounded up by at most 1/16 and a busy
// connection does not reset a timer per frame.
func (s *session) armDeadline() bool {
	for {
		st := s.state.Load()
		var d time.Time
		if st == stateHandshake {
			d = s.start.Add(s.g.cfg.HandshakeTimeout)
		} else {
			idle := s.g.cfg.IdleTimeout
			if st == stateQueued {
				idle = s.g.cfg.QueueIdleTimeout
			}
			now := time.Now()
			slack := idle / 16
			if s.armedState == st && now.Sub(s.armedAt) < slack {
				return !s.out.ended()
			}
			d = now.Add(idle + slack)
			s.armedAt = now
		}
		if err := s.t.raw().SetReadDeadline(d); err != nil {
			return false
		}
		if s.out.ended() {
			return false
		}
		if s.state.Load() == st {
			s.armedState = st
			return true
		}
	}
}

// readLoop reads and handles frames until the connection fails or the
// session is kicked.
func (s *session) readLoop() {
	for s.armDeadline() {
		b, err := s.t.readFrame()
		if err != nil {
			s.readFailed(err)
			return
		}
		s.g.m.frameIn()
		env, err := wire.Decode(b)
		if err != nil {
			s.kick(gamemesh.CodeProtocol, "malformed frame")
			return
		}
		if !s.handle(env) {
			return
		}
	}
}

// readFailed answers what a read error calls for.
func (s *session) readFailed(err error) {
	if s.out.ended() {
		return
	}
	var ne net.Error
	switch {
	case errors.Is(err, wire.ErrFrameTooLarge):
		s.kick(gamemesh.CodeFrameTooLarge, fmt.Sprintf("frame exceeds %d bytes", s.g.cfg.MaxFrameSize))
	case errors.Is(err, errTextMessage):
		s.kick(gamemesh.CodeProtocol, "text messages are not accepted: send binary frames")
	case errors.As(err, &ne) && ne.Timeout():
		switch s.state.Load() {
		case stateHandshake:
			s.kick(gamemesh.CodeTimeout, fmt.Sprintf("no login within %v", s.g.cfg.HandshakeTimeout))
		case stateQueued:
			s.kick(gamemesh.CodeTimeout, fmt.Sprintf("idle in the login queue for %v: send heartbeats while waiting", s.g.cfg.QueueIdleTimeout))
		case stateOnline:
			s.kick(gamemesh.CodeTimeout, fmt.Sprintf("idle for %v", s.g.cfg.IdleTimeout))
		}
	default:
		// EOF, a truncated frame, a reset, or a WebSocket close or error
		// (gorilla has already answered an oversize message with close 1009):
		// nothing can be delivered, just close.
		s.log.Debug("connection ended", "err", err)
	}
}

// handle processes one frame; false ends the read loop. After login every
// frame counts against the rate limit, whatever its kind and state: each
// would cost a reply frame.
func (s *session) handle(env *gamev1.Envelope) bool {
	st := s.state.Load()
	if st == stateHandshake {
		if env.Kind != gamev1.Kind_KIND_LOGIN {
			s.kick(gamemesh.CodeNotLoggedIn, "call before login: the first frame must be a LOGIN")
			return false
		}
		return s.g.login(s, env)
	}
	answer, keep := s.allow()
	if !keep {
		return false
	}
	switch env.Kind {
	case gamev1.Kind_KIND_HEARTBEAT:
		if !answer {
			return true // over the limit: no echo
		}
		return s.send(&gamev1.Envelope{Kind: gamev1.Kind_KIND_HEARTBEAT})
	case gamev1.Kind_KIND_REQUEST:
		switch {
		case !answer:
			return s.respondRateLimited(env)
		case st == stateQueued:
			return s.respondError(env, gamemesh.CodeNotLoggedIn, "waiting in the login queue")
		}
		return s.request(env)
	}
	s.kick(gamemesh.CodeProtocol, fmt.Sprintf("unexpected %s frame", env.Kind))
	return false
}

// respondError answers the request env with an error, without a call.
func (s *session) respondError(env *gamev1.Envelope, code gamemesh.Code, msg string) bool {
	s.g.m.requestRefused(code)
	return s.send(&gamev1.Envelope{Kind: gamev1.Kind_KIND_RESPONSE, ReplyTo: env.Seq, Route: env.Route, Code: code, Error: msg})
}
