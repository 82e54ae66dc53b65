package client

import (
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/wire"
)

// ErrClosed is the reason of a session ended by Close, and the error of calls
// made on it afterwards (code UNAVAILABLE).
var ErrClosed = gamemesh.Errorf(gamemesh.CodeUnavailable, "connection closed by the client")

// Conn is a logged-in session with a gate. It is safe for concurrent use.
//
// When the gate granted a resumable session, a lost connection does not end
// the Conn: it reconnects and resumes the session with its token (see
// Options.DisableResume) within the gate's grace period, the gate replays
// what it missed, requests still waiting for an answer are sent again (the
// gate answers each once), and calls simply take longer. Only when resuming
// fails does the session end with the connection's error.
type Conn struct {
	addr      string
	opts      Options
	log       *slog.Logger
	playerID  gamemesh.PlayerID
	sessionID string
	heartbeat time.Duration
	readIdle  time.Duration
	grace     time.Duration // 0: not resumable
	codec     *codec

	// sendMu orders requests: a request's seq is taken and the request
	// queued for the write loop in one step, so the gate sees seqs in
	// increasing order (a resumed session takes a lower one for a repeat).
	sendMu  sync.Mutex
	seq     atomic.Uint64 // the last request seq
	lastSeq atomic.Uint64 // the highest gate seq received: acknowledged on every frame sent
	out     chan *gamev1.Envelope
	pushes  chan push
	dropped atomic.Uint64
	resumes atomic.Uint64

	mu      sync.Mutex
	t       transport // the current connection
	token   string    // the resume token for the next resume
	pending map[uint64]*call
	err     error // why the session ended; set once

	logout     chan struct{} // closed by Close: the write loop says goodbye
	logoutOnce sync.Once
	loggedOut  chan struct{} // closed once the goodbye is written
	wroteBye   sync.Once

	done chan struct{}
	wg   sync.WaitGroup
}

// call is a request waiting for its answer.
type call struct {
	req *gamev1.Envelope
	ch  chan *gamev1.Envelope
}

type push struct {
	route string
	body  []byte
}

func newConn(addr string, t transport, opts Options, lr *gamev1.LoginResponse) *Conn {
	hb := opts.heartbeat(lr.GetHeartbeatIntervalMs())
	c := &Conn{
		addr:      addr,
		t:         t,
		opts:      opts,
		playerID:  gamemesh.PlayerID(lr.GetPlayerId()),
		sessionID: lr.GetSessionId(),
		heartbeat: hb,
		readIdle:  opts.readTimeout(hb),
		token:     lr.GetResumeToken(),
		out:       make(chan *gamev1.Envelope, sendQueue),
		pending:   make(map[uint64]*call),
		logout:    make(chan struct{}),
		loggedOut: make(chan struct{}),
		done:      make(chan struct{}),
	}
	if c.token != "" {
		c.grace = time.Duration(lr.GetResumeGraceMs()) * time.Millisecond
	}
	if lr.GetCompression() == compressDeflate {
		c.codec = &codec{min: int(lr.GetCompressMinBytes())}
	}
	c.log = opts.Logger.With("player", c.playerID, "session", c.sessionID)
	if opts.OnPush != nil {
		// Before the connection's loops start: a push may follow the login at once.
		c.pushes = make(chan push, opts.PushBuffer)
		c.wg.Add(1)
		go c.pushLoop()
	}
	c.wg.Add(1)
	go c.run(t)
	return c
}

// PlayerID returns the logged-in player.
func (c *Conn) PlayerID() gamemesh.PlayerID { return c.playerID }

// SessionID returns the gate's id for this session.
func (c *Conn) SessionID() string { return c.sessionID }

// HeartbeatInterval returns the interval at which heartbeats are sent (0: none).
func (c *Conn) HeartbeatInterval() time.Duration { return c.heartbeat }

// DroppedPushes returns how many pushes were dropped because OnPush lagged.
func (c *Conn) DroppedPushes() uint64 { return c.dropped.Load() }

// Resumable reports whether the gate keeps this session across dropped
// connections (and for how long).
func (c *Conn) Resumable() (bool, time.Duration) { return c.grace > 0, c.grace }

// Resumes returns how many times the session was resumed on a new connection.
func (c *Conn) Resumes() uint64 { return c.resumes.Load() }

// Compressed reports whether bodies may be compressed on this session.
func (c *Conn) Compressed() bool { return c.codec != nil }

// Done is closed when the session has ended, for whatever reason.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the session ended (nil while it is alive): the kick's
// *gamemesh.Error (KICKED, TIMEOUT, SHUTTING_DOWN, RATE_LIMITED...), TIMEOUT
// or UNAVAILABLE for a lost connection that could not be resumed, ErrClosed
// after Close.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close ends the session (telling the gate, which then keeps nothing for a
// resume), stops the connection's goroutines and waits for them. It is
// idempotent and returns nil.
func (c *Conn) Close() error {
	c.logoutOnce.Do(func() { close(c.logout) })
	select { // the write loop says goodbye, unless the session is over or reconnecting
	case <-c.loggedOut:
	case <-c.done:
	case <-time.After(logoutWait):
	}
	c.end(ErrClosed)
	c.wg.Wait()
	return nil
}

// end records why the session ended (first reason wins), wakes every waiter
// and closes the socket.
func (c *Conn) end(reason error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = reason
	close(c.done)
	t := c.t
	c.mu.Unlock()
	c.log.Debug("session ended", "reason", reason)
	if t != nil {
		_ = t.close()
	}
}

// logoutWait bounds how long Close waits to tell the gate.
const logoutWait = 100 * time.Millisecond

// lostError is a connection failure that a resume may repair.
type lostError struct{ err error }

func (e lostError) Error() string { return e.err.Error() }
func (e lostError) Unwrap() error { return e.err }

// run serves the session on t, and on every connection the session resumes
// on after t, until it ends.
func (c *Conn) run(t transport) {
	defer c.wg.Done()
	for {
		err := c.serve(t)
		var lost lostError
		if !errors.As(err, &lost) || c.grace <= 0 {
			c.end(err)
			return
		}
		select {
		case <-c.done:
			return
		default:
		}
		c.log.Debug("connection lost: resuming", "err", lost.err)
		if t = c.reconnect(); t == nil {
			c.end(lost.err)
			return
		}
	}
}

// serve runs the read loop of t here and its write loop alongside until
// either fails, and returns why (a lostError when a resume may help).
func (c *Conn) serve(t transport) error {
	stop := make(chan struct{})
	writeErr := make(chan error, 1)
	go func() { writeErr <- c.writeLoop(t, stop) }()
	err := c.readLoop(t)
	close(stop)
	t.interrupt()
	if werr := <-writeErr; werr != nil {
		var lost lostError
		if errors.As(err, &lost) {
			err = werr // the write failed first: the read failed because of it
		}
	}
	_ = t.close()
	return err
}

func (c *Conn) readLoop(t transport) error {
	for {
		if c.readIdle > 0 {
			_ = t.setReadDeadline(time.Now().Add(c.readIdle))
		}
		env, err := t.read()
		if err != nil {
			select {
			case <-c.done:
				return c.Err()
			default:
			}
			return c.readError(err)
		}
		if s := env.GetSeq(); s > c.lastSeq.Load() {
			c.lastSeq.Store(s)
		}
		switch env.GetKind() {
		case gamev1.Kind_KIND_RESPONSE:
			c.deliver(env)
		case gamev1.Kind_KIND_PUSH:
			c.push(env)
		case gamev1.Kind_KIND_KICK:
			return kickError(env)
		default:
			// HEARTBEAT echoes, late QUEUE frames and kinds this client does not
			// know carry nothing to act on; any frame resets the read timeout.
		}
	}
}

func (c *Conn) deliver(env *gamev1.Envelope) {
	if err := c.inflate(env); err != nil {
		env = &gamev1.Envelope{Kind: env.Kind, ReplyTo: env.ReplyTo, Code: gamemesh.CodeProtocol, Error: err.Error()}
	}
	c.mu.Lock()
	p, ok := c.pending[env.GetReplyTo()]
	delete(c.pending, env.GetReplyTo())
	c.mu.Unlock()
	if ok {
		p.ch <- env // buffered, one response per request (a repeat finds it gone)
	}
}

func (c *Conn) push(env *gamev1.Envelope) {
	if c.pushes == nil {
		return
	}
	if c.inflate(env) != nil {
		return // a push that cannot be read is dropped like one that does not fit
	}
	select {
	case c.pushes <- push{route: env.GetRoute(), body: env.GetBody()}:
	default:
		c.dropped.Add(1)
	}
}

func (c *Conn) pushLoop() {
	defer c.wg.Done()
	for {
		select {
		case p := <-c.pushes:
			c.opts.OnPush(p.route, p.body)
		case <-c.done:
			return
		}
	}
}

// writeLoop writes queued frames and the heartbeats to t, one writer per
// socket, each carrying the acknowledgement of what was received.
func (c *Conn) writeLoop(t transport, stop <-chan struct{}) error {
	var tick <-chan time.Time
	if c.heartbeat > 0 {
		tk := time.NewTicker(c.heartbeat)
		defer tk.Stop()
		tick = tk.C
	}
	for {
		var env *gamev1.Envelope
		select {
		case <-stop:
			return nil
		case <-c.logout:
			_ = t.write(&gamev1.Envelope{Kind: gamev1.Kind_KIND_LOGOUT}, time.Now().Add(logoutWait))
			c.wroteBye.Do(func() { close(c.loggedOut) })
			<-stop
			return nil
		case env = <-c.out:
		case <-tick:
			env = &gamev1.Envelope{Kind: gamev1.Kind_KIND_HEARTBEAT}
		}
		if c.grace > 0 {
			env.Ack = c.lastSeq.Load()
		}
		if err := t.write(env, time.Now().Add(c.opts.WriteTimeout)); err != nil {
			if errors.Is(err, errLocalTooLarge) {
				continue // CallRaw checked the size; nothing to do but drop it
			}
			t.interrupt()
			return c.writeError(err)
		}
	}
}

// reconnect dials the gate again and resumes the session, retrying with
// backoff until the grace period is over. It returns the new connection, or
// nil when the session could not be resumed (or was closed meanwhile).
func (c *Conn) reconnect() transport {
	start := time.Now()
	deadline := start.Add(c.grace)
	backoff := 25 * time.Millisecond
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			wait := min(backoff, time.Until(deadline))
			if wait <= 0 {
				return nil
			}
			select {
			case <-c.done:
				return nil
			case <-time.After(wait):
			}
			backoff = min(2*backoff, time.Second)
		}
		t, lr, err := c.resumeOnce(deadline)
		if err == nil {
			c.mu.Lock()
			if c.err != nil { // closed meanwhile
				c.mu.Unlock()
				_ = t.close()
				return nil
			}
			c.t, c.token = t, lr.GetResumeToken()
			again := make([]*gamev1.Envelope, 0, len(c.pending))
			for _, p := range c.pending {
				again = append(again, p.req)
			}
			c.mu.Unlock()
			// Requests without an answer go again, lowest first: the gate runs
			// each at most once and answers repeats from what it kept.
			sortBySeq(again)
			for _, req := range again {
				if err := t.write(req, time.Now().Add(c.opts.WriteTimeout)); err != nil {
					break // the next serve sees the broken connection
				}
			}
			c.resumes.Add(1)
			if c.opts.OnResume != nil {
				c.opts.OnResume(time.Since(start))
			}
			c.log.Debug("session resumed", "took", time.Since(start), "repeated", len(again))
			return t
		}
		c.log.Debug("resume attempt failed", "err", err)
		if gamemesh.CodeOf(err) == gamemesh.CodeResumeFailed || errors.Is(err, errSessionClosed) {
			return nil
		}
	}
}

var errSessionClosed = errors.New("client: session closed")

// resumeOnce dials and presents the resume token.
func (c *Conn) resumeOnce(deadline time.Time) (transport, *gamev1.LoginResponse, error) {
	ctx, cancel := contextUntil(deadline, c.done)
	defer cancel()
	t, err := dialTransport(ctx, c.addr, &c.opts)
	if err != nil {
		return nil, nil, err
	}
	c.mu.Lock()
	token := c.token
	c.mu.Unlock()
	lr, err := login(ctx, t, &gamev1.LoginRequest{ResumeToken: token, LastSeq: c.lastSeq.Load()}, &c.opts)
	if err != nil {
		_ = t.close()
		select {
		case <-c.done:
			return nil, nil, errSessionClosed
		default:
		}
		return nil, nil, err
	}
	return t, lr, nil
}

func (c *Conn) readError(err error) error {
	if isTimeout(err) {
		return lostError{gamemesh.Wrap(gamemesh.CodeTimeout, err, "no frame from the gate for "+c.readIdle.String())}
	}
	return transportError(err)
}

// transportError maps a read failure to a client-facing error: a lostError
// for a connection that may be resumed, a final error for a gate that broke
// the protocol.
func transportError(err error) error {
	var ge *gamemesh.Error
	switch {
	case errors.As(err, &ge):
		return ge
	case errors.Is(err, wire.ErrFrameTooLarge), errors.Is(err, websocket.ErrReadLimit):
		return gamemesh.Wrap(gamemesh.CodeFrameTooLarge, err, "the gate sent a frame larger than the limit")
	case errors.Is(err, wire.ErrMalformed), errors.Is(err, wire.ErrTruncated):
		return gamemesh.Wrap(gamemesh.CodeProtocol, err, "the gate sent a malformed frame")
	}
	return lostError{gamemesh.Wrap(gamemesh.CodeUnavailable, err, "connection to the gate lost")}
}

func (c *Conn) writeError(err error) error {
	if isTimeout(err) {
		return lostError{gamemesh.Wrap(gamemesh.CodeTimeout, err, "write to the gate timed out")}
	}
	return lostError{gamemesh.Wrap(gamemesh.CodeUnavailable, err, "connection to the gate lost")}
}

// kickError is the reason carried by a KICK frame.
func kickError(env *gamev1.Envelope) error {
	code := env.GetCode()
	if code == gamemesh.CodeOK {
		code = gamemesh.CodeKicked
	}
	msg := env.GetError()
	if msg == "" {
		msg = "kicked by the gate"
	}
	return &gamemesh.Error{Code: code, Message: msg}
}
