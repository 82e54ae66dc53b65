package gate

import (
	"errors"
	"sync"

	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

var (
	errOutFull   = errors.New("gate: outgoing queue full")
	errOutClosed = errors.New("gate: session closing")
)

// outbox is a session's bounded queue of outgoing frames. Producers (the read
// loop, call goroutines, pushes, the admission loop) put frames; the write loop
// takes all of them at once. A final frame (a KICK) ends the queue: it is
// accepted even when the queue is full and nothing is accepted after it.
// Besides frames it holds one encoded control frame (a WebSocket pong),
// written ahead of the next batch.
type outbox struct {
	wake chan struct{} // capacity 1: "there is something to take"

	mu       sync.Mutex
	frames   []*gamev1.Envelope
	ctrl     []byte // an encoded control frame, written before frames
	limit    int
	final    bool // a final frame is queued: nothing more is accepted
	closed   bool // the session is over: queued frames are dropped
	pushable bool // the login response is queued: pushes may follow it
}

func newOutbox(limit int) *outbox {
	return &outbox{wake: make(chan struct{}, 1), limit: limit}
}

func (o *outbox) signal() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// put queues env; errOutFull means the client is a slow consumer.
func (o *outbox) put(env *gamev1.Envelope) error { return o.putIf(env, false, false) }

// putLogin queues the login response and opens the queue to pushes, in one
// step: a push is never lost between the two nor sent before the response.
func (o *outbox) putLogin(env *gamev1.Envelope) error { return o.putIf(env, false, true) }

// putPush queues a push; errOutClosed until the login response is queued.
func (o *outbox) putPush(env *gamev1.Envelope) error { return o.putIf(env, true, false) }

func (o *outbox) putIf(env *gamev1.Envelope, needPushable, openPushes bool) error {
	o.mu.Lock()
	switch {
	case needPushable && !o.pushable:
		o.mu.Unlock()
		return errOutClosed
	case o.closed || o.final:
		o.mu.Unlock()
		return errOutClosed
	case len(o.frames) >= o.limit:
		o.mu.Unlock()
		return errOutFull
	}
	o.frames = append(o.frames, env)
	o.pushable = o.pushable || openPushes
	o.mu.Unlock()
	o.signal()
	return nil
}

// putControl queues frame, an encoded control frame, to be written before
// the next batch; it replaces one not yet written (a pong needs to answer
// only the latest ping). False once the queue has ended.
func (o *outbox) putControl(frame []byte) bool {
	o.mu.Lock()
	if o.closed || o.final {
		o.mu.Unlock()
		return false
	}
	o.ctrl = frame
	o.mu.Unlock()
	o.signal()
	return true
}

// putFinal queues env as the last frame; false if the queue already ended.
func (o *outbox) putFinal(env *gamev1.Envelope) bool {
	o.mu.Lock()
	if o.closed || o.final {
		o.mu.Unlock()
		return false
	}
	o.final = true
	o.frames = append(o.frames, env)
	o.mu.Unlock()
	o.signal()
	return true
}

// close drops whatever is queued and tells the write loop to stop.
func (o *outbox) close() {
	o.mu.Lock()
	o.closed = true
	o.frames = nil
	o.ctrl = nil
	o.mu.Unlock()
	o.signal()
}

// closeUnlessFinal closes the queue unless a final frame is waiting to be written.
func (o *outbox) closeUnlessFinal() {
	o.mu.Lock()
	if o.final {
		o.mu.Unlock()
		return
	}
	o.mu.Unlock()
	o.close()
}

// ended reports whether the queue accepts no more frames.
func (o *outbox) ended() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.final || o.closed
}

// take swaps the queued frames for spare (which must be empty), returns the
// control frame to write before them, and reports whether they end with the
// final frame, or whether the queue was closed.
func (o *outbox) take(spare []*gamev1.Envelope) (frames []*gamev1.Envelope, ctrl []byte, final, closed bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil, nil, false, true
	}
	frames, o.frames = o.frames, spare
	ctrl, o.ctrl = o.ctrl, nil
	return frames, ctrl, o.final, false
}
