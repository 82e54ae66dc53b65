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
type Conn struct {
	t         transport
	opts      Options
	log       *slog.Logger
	playerID  gamemesh.PlayerID
	sessionID string
	heartbeat time.Duration
	readIdle  time.Duration

	seq     atomic.Uint64
	out     chan *gamev1.Envelope // frames for the write loop
	pushes  chan push
	dropped atomic.Uint64

	mu      sync.Mutex
	pending map[uint64]chan *gamev1.Envelope
	err     error // why the session ended; set once

	done chan struct{}
	wg   sync.WaitGroup
}

type push struct {
	route string
	body  []byte
}

func newConn(t transport, opts Options, lr *gamev1.LoginResponse) *Conn {
	hb := opts.heartbeat(lr.GetHeartbeatIntervalMs())
	c := &Conn{
		t:         t,
		opts:      opts,
		playerID:  gamemesh.PlayerID(lr.GetPlayerId()),
		sessionID: lr.GetSessionId(),
		heartbeat: hb,
		readIdle:  opts.readTimeout(hb),
		out:       make(chan *gamev1.Envelope, sendQueue),
		pending:   make(map[uint64]chan *gamev1.Envelope),
		done:      make(chan struct{}),
	}
	c.log = opts.Logger.With("player", c.playerID, "session", c.sessionID)
	if opts.OnPush != nil {
		// Before the read loop starts: it reads c.pushes for every push.
		c.pushes = make(chan push, opts.PushBuffer)
	}
	c.wg.Add(2)
	go c.readLoop()
	go c.writeLoop()
	if c.pushes != nil {
		c.wg.Add(1)
		go c.pushLoop()
	}
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

// Done is closed when the session has ended, for whatever reason.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the session ended (nil while it is alive): the kick's
// *gamemesh.Error (KICKED, TIMEOUT, SHUTTING_DOWN, RATE_LIMITED...), TIMEOUT
// or UNAVAILABLE for a lost connection, ErrClosed after Close.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close ends the session, stops the connection's goroutines and waits for
// them. It is idempotent and returns nil.
func (c *Conn) Close() error {
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
	c.mu.Unlock()
	c.log.Debug("session ended", "reason", reason)
	_ = c.t.close()
}

func (c *Conn) readLoop() {
	defer c.wg.Done()
	for {
		if c.readIdle > 0 {
			_ = c.t.setReadDeadline(time.Now().Add(c.readIdle))
		}
		env, err := c.t.read()
		if err != nil {
			c.end(c.readError(err))
			return
		}
		switch env.GetKind() {
		case gamev1.Kind_KIND_RESPONSE:
			c.deliver(env)
		case gamev1.Kind_KIND_PUSH:
			c.push(env)
		case gamev1.Kind_KIND_KICK:
			c.end(kickError(env))
			return
		default:
			// HEARTBEAT echoes, late QUEUE frames and kinds this client does not
			// know carry nothing to act on; any frame resets the read timeout.
		}
	}
}

func (c *Conn) deliver(env *gamev1.Envelope) {
	c.mu.Lock()
	ch, ok := c.pending[env.GetReplyTo()]
	delete(c.pending, env.GetReplyTo())
	c.mu.Unlock()
	if ok {
		ch <- env // buffered, one response per request
	}
}

func (c *Conn) push(env *gamev1.Envelope) {
	if c.pushes == nil {
		return
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

// writeLoop writes queued frames and the heartbeats, one writer per socket.
func (c *Conn) writeLoop() {
	defer c.wg.Done()
	var tick <-chan time.Time
	if c.heartbeat > 0 {
		t := time.NewTicker(c.heartbeat)
		defer t.Stop()
		tick = t.C
	}
	hb := &gamev1.Envelope{Kind: gamev1.Kind_KIND_HEARTBEAT}
	for {
		var env *gamev1.Envelope
		select {
		case <-c.done:
			return
		case env = <-c.out:
		case <-tick:
			env = hb
		}
		if err := c.t.write(env, time.Now().Add(c.opts.WriteTimeout)); err != nil {
			c.end(c.writeError(err))
			return
		}
	}
}

func (c *Conn) readError(err error) error {
	if isTimeout(err) {
		return gamemesh.Wrap(gamemesh.CodeTimeout, err, "no frame from the gate for "+c.readIdle.String())
	}
	return transportError(err)
}

// transportError maps a read or write failure to a client-facing error.
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
	return gamemesh.Wrap(gamemesh.CodeUnavailable, err, "connection to the gate lost")
}

func (c *Conn) writeError(err error) error {
	if isTimeout(err) {
		return gamemesh.Wrap(gamemesh.CodeTimeout, err, "write to the gate timed out")
	}
	return gamemesh.Wrap(gamemesh.CodeUnavailable, err, "connection to the gate lost")
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
