package gate

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/wire"
)

// kickLinger is how long a kicked connection is drained after its last frame,
// so that the client reads the KICK before the socket closes (closing with
// unread input would reset the connection and lose it).
const kickLinger = time.Second

// link is one client connection: its transport and the read loop, run by the
// connection's only goroutine. The link serves one session at a time (s,
// read loop only): the handshake session it was accepted with, or the
// session it resumed.
type link struct {
	g     *Gate
	t     transport
	start time.Time
	ip    ipKey // the client's address, for the per-IP limits
	s     *session

	broken  atomic.Bool // aborted: nothing more is written to it
	written atomic.Bool // the final frame was written: drain before closing
	ipHeld  bool        // counted as unauthenticated from ip; link goroutine only

	finalMu   sync.Mutex
	finalDone chan struct{} // closed when the final frame is written or the link aborted

	armedState int32     // the state whose idle deadline is set; read loop only
	armedAt    time.Time // when it was last moved

	// Inline calls (see runInline): readerGen changes hands with the read
	// loop; armedGen is the generation the spill timer may take over.
	readerGen atomic.Uint32
	armedGen  atomic.Uint32
	inBatch   atomic.Bool // the spill timer watches the calls of a batch
	spill     *time.Timer
}

// reader is one goroutine's turn at running a link's read loop.
type reader struct {
	l        *link
	lost     bool      // a spill moved the read loop to another goroutine
	now      time.Time // read once per batch of frames that arrived together
	armed    bool      // the spill timer runs for this batch
	interned bool      // the route of the frame being handled was known
	intern   func([]byte) string
}

// internRoute interns a frame's route through the gate's table and notes
// whether it was known.
func (r *reader) internRoute(b []byte) string {
	s := r.l.g.routes.intern(b)
	r.interned = s != ""
	return s
}

// endBatch stops the spill timer before the read loop waits for input.
func (r *reader) endBatch() {
	if r.armed {
		r.armed = false
		r.l.inBatch.Store(false)
		r.l.spill.Stop()
	}
}

// inlineBudget is how long the calls of one batch of frames run on the read
// loop before a call still running moves the read loop to another goroutine
// (see runInline).
const inlineBudget = 100 * time.Microsecond

func (g *Gate) newLink(t transport, ip ipKey) *link {
	return &link{g: g, t: t, start: time.Now(), ip: ip}
}

// write writes b with the write timeout; only the outbox's writer calls it.
func (l *link) write(b []byte) error {
	c := l.t.raw()
	_ = c.SetWriteDeadline(time.Now().Add(l.g.cfg.WriteTimeout))
	_, err := c.Write(b)
	return err
}

// abort closes the connection at once; the read loop then ends.
func (l *link) abort() {
	if l.broken.Swap(true) {
		return
	}
	_ = l.t.raw().Close()
	l.signalFinal()
}

// finalWritten ends the output after the final frame and wakes the read loop.
func (l *link) finalWritten() {
	c := l.t.raw()
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	l.written.Store(true)
	_ = c.SetReadDeadline(time.Now()) // wake the read loop
	l.signalFinal()
}

// finalChan returns the channel closed once the final frame is written or
// the link aborted.
func (l *link) finalChan() chan struct{} {
	l.finalMu.Lock()
	defer l.finalMu.Unlock()
	if l.finalDone == nil {
		l.finalDone = make(chan struct{})
		if l.broken.Load() {
			close(l.finalDone)
		}
	}
	return l.finalDone
}

func (l *link) signalFinal() {
	l.finalMu.Lock()
	defer l.finalMu.Unlock()
	if l.finalDone == nil {
		l.finalDone = make(chan struct{})
	}
	select {
	case <-l.finalDone:
	default:
		close(l.finalDone)
	}
}

// drain discards input for a moment after the final frame so that the client
// can read it and close first.
func (l *link) drain() {
	c := l.t.raw()
	_ = c.SetReadDeadline(time.Now().Add(kickLinger))
	_, _ = io.Copy(io.Discard, c)
}

// serve runs a connection to its end: the read loop, then, if a final frame
// was queued, its write and a short drain; then the connection closes and
// its session is detached (resumable), or ends, unless a resume moved the
// session to another connection meanwhile. The read loop may move to another
// goroutine (see runInline); whichever runs it last finishes the link and
// counts it done in g.wg.
func (g *Gate) serve(l *link) {
	s := g.newSession(l)
	l.s = s
	if !g.track(s) {
		_ = l.t.raw().Close()
		l.t.release()
		g.ipDone(l)
		g.wg.Done()
		return
	}
	g.links.Add(1)
	g.readAndFinish(l)
}

// readAndFinish runs l's read loop and, unless it was handed to another
// goroutine, ends the link.
func (g *Gate) readAndFinish(l *link) {
	if handedOff := l.readLoop(); handedOff {
		return
	}
	defer g.wg.Done()
	s := l.s
	if s.out.finalOn(l) {
		<-l.finalChan()
		if l.written.Load() {
			l.drain()
		}
	}
	l.broken.Store(true)
	_ = l.t.raw().Close()
	l.t.release()
	g.ipDone(l)
	g.links.Add(-1)
	if !s.out.owns(l) {
		return // resumed on another connection
	}
	if g.detach(s, l) {
		return
	}
	s.finish()
}

// runInline runs a call on the read loop's goroutine, which is where a fast
// call costs least (no goroutine hand-off, and the answers of a pipelined
// batch leave in one write). A timer watches the batch's calls: if one is
// still running inlineBudget after the batch's first call began, the timer
// moves the read loop to a new goroutine, which goes on reading while this
// one finishes the call, writes its answer and leaves. Of the call's end and
// the timer, exactly one wins the read loop (readerGen); between calls the
// armed generation is stale, so a timer firing then only re-arms itself.
func (r *reader) runInline(j *callJob) {
	l := r.l
	if l.spill == nil {
		l.spill = time.AfterFunc(time.Hour, l.takeOver)
		l.spill.Stop()
	}
	gen := l.readerGen.Load()
	l.armedGen.Store(gen) // also publishes spill to the goroutine the timer starts
	if !r.armed {
		r.armed = true
		l.inBatch.Store(true)
		l.spill.Reset(inlineBudget)
	}
	s := j.s
	j.inline = true
	j.run()
	if l.readerGen.CompareAndSwap(gen, gen+1) {
		return // still the reader: the answer leaves with the batch
	}
	// The timer and the read loop belong to the new reader now.
	r.lost, r.armed = true, false
	s.out.flushNow()
}

// takeOver is the spill timer: a call on the read loop is slow, so this
// goroutine becomes the read loop, unless the call ended first (then it
// watches the batch's next calls).
func (l *link) takeOver() {
	gen := l.armedGen.Load()
	if l.readerGen.CompareAndSwap(gen, gen+1) {
		l.inBatch.Store(false)
		l.g.readAndFinish(l)
		return
	}
	if l.inBatch.Load() {
		l.spill.Reset(inlineBudget)
	}
}

// armDeadline sets the read deadline for the current state. It reports false
// when the session has ended and reading must stop. The deadline is set again
// if the state changed meanwhile (the admission loop moves sessions online
// while the read loop waits). Queued and online, the idle deadline
// (QueueIdleTimeout, IdleTimeout) is moved at most every timeout/16 and set
// that much further, so the timeout is rounded up by at most 1/16 and a busy
// connection does not reset a timer per frame.
func (l *link) armDeadline(now time.Time) bool {
	for {
		s := l.s
		st := s.state.Load()
		var d time.Time
		if st == stateHandshake {
			d = l.start.Add(l.g.cfg.HandshakeTimeout)
		} else {
			idle := l.g.cfg.IdleTimeout
			if st == stateQueued {
				idle = l.g.cfg.QueueIdleTimeout
			}
			slack := idle / 16
			if l.armedState == st && now.Sub(l.armedAt) < slack {
				return !l.broken.Load() && !s.out.ended()
			}
			d = now.Add(idle + slack)
			l.armedAt = now
		}
		if err := l.t.raw().SetReadDeadline(d); err != nil {
			return false
		}
		if l.broken.Load() || s.out.ended() {
			return false
		}
		if s.state.Load() == st {
			l.armedState = st
			return true
		}
	}
}

// readLoop reads and handles frames until the connection fails or the
// session ends, or until a spill hands it to another goroutine (handedOff).
func (l *link) readLoop() (handedOff bool) {
	var env gamev1.Envelope
	r := &reader{l: l, now: time.Now()}
	r.intern = r.internRoute
	for l.armDeadline(r.now) {
		batched := l.t.hasFrame()
		if !batched {
			r.endBatch()
			l.s.out.flushNow() // what the frames handled so far queued leaves in one write
		}
		b, err := l.t.readFrame()
		if !batched {
			r.now = time.Now()
		}
		if err != nil {
			l.readFailed(err)
			return false
		}
		l.g.m.frameIn()
		r.interned = false
		if err := wire.DecodeInto(b, &env, r.intern); err != nil {
			l.s.kick(gamemesh.CodeProtocol, "malformed frame")
			return false
		}
		l.s.via = r
		handshake := l.s.state.Load() == stateHandshake
		keep := l.handle(&env)
		env.Body, env.Route, env.Error = nil, "", "" // hold nothing of the frame while waiting
		if r.lost {
			return true
		}
		if !keep {
			r.endBatch()
			return false
		}
		if handshake && l.s.state.Load() != stateHandshake {
			r.endBatch()
			// Logged in (or resumed): the login grew this goroutine's stack
			// (ticket checks, the directory); a fresh goroutine reads on with
			// a small one, which is what an idle connection costs.
			go l.g.readAndFinish(l)
			return true
		}
	}
	return false
}

// readFailed answers what a read error calls for.
func (l *link) readFailed(err error) {
	s := l.s
	if l.broken.Load() || s.out.ended() {
		return
	}
	cfg := &l.g.cfg
	var ne net.Error
	switch {
	case errors.Is(err, wire.ErrFrameTooLarge):
		s.kick(gamemesh.CodeFrameTooLarge, fmt.Sprintf("frame exceeds %d bytes", cfg.MaxFrameSize))
	case errors.Is(err, errTextMessage):
		s.kick(gamemesh.CodeProtocol, "text messages are not accepted: send binary frames")
	case errors.As(err, &ne) && ne.Timeout():
		switch s.state.Load() {
		case stateHandshake:
			s.kick(gamemesh.CodeTimeout, fmt.Sprintf("no login within %v", cfg.HandshakeTimeout))
		case stateQueued:
			s.kick(gamemesh.CodeTimeout, fmt.Sprintf("idle in the login queue for %v: send heartbeats while waiting", cfg.QueueIdleTimeout))
		case stateOnline:
			if !s.resumable {
				s.kick(gamemesh.CodeTimeout, fmt.Sprintf("idle for %v", cfg.IdleTimeout))
			}
			// A resumable session whose client went silent is detached
			// (its network may be gone): it may come back with its token.
		}
	default:
		// EOF, a truncated frame, a reset, or a WebSocket close or error
		// (the WebSocket reader has already answered a refused frame with its
		// close code: 1009 for an oversize message, 1002 for a protocol error):
		// nothing can be delivered, just close.
		s.logger().Debug("connection ended", "err", err)
	}
}

// handle processes one frame; false ends the read loop. After login every
// frame counts against the rate limit, whatever its kind and state: each
// would cost a reply frame.
func (l *link) handle(env *gamev1.Envelope) bool {
	s := l.s
	st := s.state.Load()
	if st == stateHandshake {
		if env.Kind != gamev1.Kind_KIND_LOGIN {
			s.kick(gamemesh.CodeNotLoggedIn, "call before login: the first frame must be a LOGIN")
			return false
		}
		return l.g.login(l, env)
	}
	if env.Kind == gamev1.Kind_KIND_LOGOUT {
		s.logout()
		return false
	}
	if env.Ack != 0 {
		s.out.ack(env.Ack)
	}
	answer, keep := s.allow(s.via.now)
	if !keep {
		return false
	}
	switch env.Kind {
	case gamev1.Kind_KIND_HEARTBEAT:
		if !answer {
			return true // over the limit: no echo
		}
		return s.sendInline(&gamev1.Envelope{Kind: gamev1.Kind_KIND_HEARTBEAT}, putOpts{noReplay: true})
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
