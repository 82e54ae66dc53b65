package gate

import (
	"errors"
	"sync"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/wire"
)

var (
	errOutFull   = errors.New("gate: outgoing queue full")
	errOutClosed = errors.New("gate: session closing")
)

// outbox is a session's outgoing frames. Producers (the read loop, calls,
// pushes, the admission loop) encode each frame at once, numbered in the
// order they are queued, into a pooled buffer for the session's current
// connection (its link); whoever finds no write in progress becomes the
// writer and writes everything queued with one Write per batch, looping
// until nothing is left. So there is no writer goroutine per connection:
// the read loop writes what it queued before it waits for input again (puts
// with hold, then flushNow), other producers (pushes, admissions, kicks)
// hand the write to a pool worker, and an idle connection holds no buffer.
//
// A final frame (a KICK) ends the session: it is accepted even when the
// queue is full, nothing is accepted after it, and its link closes once it
// is written. A resumable session also keeps every replayable frame in its
// replay buffer until the client acknowledges it; while it has no link
// (detached) frames go there only.
type outbox struct {
	s *session

	mu         sync.Mutex
	seq        uint64 // the last seq given to a frame
	link       *link  // nil while the session is detached
	pend       *buffer
	pendN      int  // frames in pend
	flushing   bool // a writer is at work
	final      bool // a final frame is queued on link
	finalTaken bool // the writer has taken it
	over       bool // the session ended: nothing more is accepted
	pushable   bool // the login response is queued: pushes may follow it
	replay     *replay
}

// putOpts are what a frame is besides its envelope.
type putOpts struct {
	push     bool // refused until the login response is queued
	login    bool // the login response: opens pushes, not replayed
	noReplay bool // never replayed (queue status, heartbeat echoes)
	hold     bool // queue only: the caller calls flushNow once it may block
	final    bool // a KICK: ends the session
}

// put encodes env as the next frame; errOutFull means the client is a slow
// consumer, errOutClosed that the session takes no more frames. Frames over
// the client's limit are replaced or dropped here (see oversize).
func (o *outbox) put(env *gamev1.Envelope, opts putOpts) error {
	body, compressed := env.Body, env.Compressed
	if !opts.final {
		body, compressed = o.s.compress(env)
	}
	o.mu.Lock()
	if err := o.admits(1, opts); err != nil {
		o.mu.Unlock()
		return err
	}
	o.appendLocked(env, body, compressed, opts)
	o.finishPut(opts)
	return nil
}

// putMany queues envs (the answers and pushes of one scene tick) in one
// step, so that they leave in one write; like putPush it refuses until the
// login response is queued, and like put it refuses a batch that would
// overflow the queue (a slow consumer).
func (o *outbox) putMany(envs []*gamev1.Envelope) error {
	if len(envs) == 0 {
		return nil
	}
	type enc struct {
		body       []byte
		compressed bool
	}
	bodies := make([]enc, len(envs))
	for i, env := range envs {
		bodies[i].body, bodies[i].compressed = o.s.compress(env)
	}
	opts := putOpts{push: true}
	o.mu.Lock()
	if err := o.admits(len(envs), opts); err != nil {
		o.mu.Unlock()
		return err
	}
	for i, env := range envs {
		o.appendLocked(env, bodies[i].body, bodies[i].compressed, opts)
	}
	o.finishPut(opts)
	return nil
}

// admits reports whether n more frames may be queued; o.mu held.
func (o *outbox) admits(n int, opts putOpts) error {
	switch {
	case o.over:
		return errOutClosed
	case opts.push && !o.pushable:
		return errOutClosed
	case !opts.final && o.link != nil && o.pendN+n > o.s.g.cfg.OutQueue:
		return errOutFull
	}
	return nil
}

// appendLocked numbers and encodes env with body for the current link and
// the replay buffer; o.mu held.
func (o *outbox) appendLocked(env *gamev1.Envelope, body []byte, compressed bool, opts putOpts) {
	seq := o.seq + 1
	out := gamev1.Envelope{Kind: env.Kind, Seq: seq, ReplyTo: env.ReplyTo, Route: env.Route, Body: body,
		Code: env.Code, Error: env.Error, Compressed: compressed}
	n := wire.EnvelopeSize(&out)
	if n > o.s.g.cfg.MaxOutFrame {
		r := o.s.oversize(env, n)
		if r == nil {
			return // dropped and logged
		}
		out = gamev1.Envelope{Kind: r.Kind, Seq: seq, ReplyTo: r.ReplyTo, Route: r.Route, Code: r.Code, Error: r.Error}
		n = wire.EnvelopeSize(&out)
	}
	o.seq = seq
	if opts.login {
		o.pushable = true
	}
	var payload []byte
	if l := o.link; l != nil && !l.broken.Load() {
		if o.pend == nil {
			o.pend = getBuf(chunkSize)
		}
		b := l.t.appendHeader(o.pend.b, n)
		start := len(b)
		b = wire.AppendEnvelope(b, &out)
		payload = b[start:]
		if opts.final {
			b = l.t.appendGoodbye(b)
		}
		o.pend.b = b
		o.pendN++
	}
	if o.replay != nil && !opts.login && !opts.noReplay && !opts.final {
		if payload == nil {
			payload = wire.AppendEnvelope(make([]byte, 0, n), &out)
		} else {
			payload = append(make([]byte, 0, len(payload)), payload...)
		}
		o.replay.add(seq, env.ReplyTo, payload)
	}
	if opts.final {
		o.final, o.over = true, true
	}
}

// finishPut unlocks o.mu and, unless the caller holds the write for later,
// starts a writer if none is at work.
func (o *outbox) finishPut(opts putOpts) {
	start := o.pend != nil && !o.flushing && !opts.hold
	if start {
		o.flushing = true
	}
	o.mu.Unlock()
	if start {
		o.startFlush(false) // a producer that may not block: a pool worker writes
	}
}

// putPush queues a push; errOutClosed until the login response is queued.
func (o *outbox) putPush(env *gamev1.Envelope) error { return o.put(env, putOpts{push: true}) }

// flushNow writes what is queued on this goroutine unless a writer is at
// work (after puts with hold).
func (o *outbox) flushNow() {
	o.mu.Lock()
	if o.flushing || o.pend == nil || o.link == nil {
		o.mu.Unlock()
		return
	}
	o.flushing = true
	o.mu.Unlock()
	o.flush()
}

// putControl queues frame, an encoded control frame (a WebSocket pong) for
// the current link, unnumbered. False once the session takes no more frames.
func (o *outbox) putControl(frame func(dst []byte) []byte) bool {
	o.mu.Lock()
	if o.over || o.link == nil {
		o.mu.Unlock()
		return false
	}
	if o.pend == nil {
		o.pend = getBuf(chunkSize)
	}
	o.pend.b = frame(o.pend.b)
	start := !o.flushing
	o.flushing = true
	o.mu.Unlock()
	if start {
		o.startFlush(true)
	}
	return true
}

// putRaw queues an encoded envelope (a cached answer) for the current link,
// framed for it, without numbering it again.
func (o *outbox) putRaw(payload []byte) {
	o.mu.Lock()
	l := o.link
	if o.over || l == nil || l.broken.Load() {
		o.mu.Unlock()
		return
	}
	if o.pend == nil {
		o.pend = getBuf(chunkSize)
	}
	o.pend.b = append(l.t.appendHeader(o.pend.b, len(payload)), payload...)
	o.pendN++
	start := !o.flushing
	o.flushing = true
	o.mu.Unlock()
	if start {
		o.startFlush(true)
	}
}

func (o *outbox) startFlush(inline bool) {
	if inline {
		o.flush()
		return
	}
	o.s.g.workers.run(o.flush)
}

// flush writes what is queued for the current link, batch after batch,
// until nothing is left; the final frame's write ends the link's output.
func (o *outbox) flush() {
	for {
		o.mu.Lock()
		l := o.link
		if l == nil || o.pend == nil || l.broken.Load() {
			if o.pend != nil && (l == nil || l.broken.Load()) {
				putBuf(o.pend)
				o.pend, o.pendN = nil, 0
			}
			o.flushing = false
			o.mu.Unlock()
			return
		}
		b, n := o.pend, o.pendN
		o.pend, o.pendN = nil, 0
		final := o.final && !o.finalTaken
		if final {
			o.finalTaken = true
		}
		o.mu.Unlock()

		err := l.write(b.b)
		putBuf(b)
		if err != nil {
			o.s.logger().Debug("write failed", "err", err)
			l.abort()
			continue // the loop drops what was queued for l
		}
		o.s.g.m.framesSent(n)
		if final {
			l.finalWritten()
			o.mu.Lock()
			o.flushing = false
			if o.pend != nil {
				putBuf(o.pend)
				o.pend, o.pendN = nil, 0
			}
			o.mu.Unlock()
			return
		}
	}
}

// ended reports whether the session accepts no more frames.
func (o *outbox) ended() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.over
}

// finalQueued reports whether a final frame was queued on l.
func (o *outbox) finalOn(l *link) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.final && o.link == l
}

// end takes no more frames and drops what is queued; the current link is
// aborted. It reports whether this call ended the session.
func (o *outbox) end() bool {
	o.mu.Lock()
	first := !o.over
	o.over = true
	l := o.link
	if o.pend != nil && !o.flushing {
		putBuf(o.pend)
		o.pend, o.pendN = nil, 0
	}
	o.mu.Unlock()
	if l != nil {
		l.abort()
	}
	return first
}

// detach takes l off the session if it is still its link and the session
// can be resumed, keeping the replay buffer; it reports whether it did.
func (o *outbox) detach(l *link) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.link != l || o.over || o.replay == nil {
		return false
	}
	o.link = nil
	if o.pend != nil && !o.flushing {
		putBuf(o.pend)
		o.pend, o.pendN = nil, 0
	}
	return true
}

// currentLink returns the session's connection, nil while detached.
func (o *outbox) currentLink() *link {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.link
}

// hasLink reports whether the session has a connection.
func (o *outbox) hasLink() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.link != nil
}

// endIfDetached ends the session if it has no connection; it reports
// whether it did (the grace period is over, nobody resumed it).
func (o *outbox) endIfDetached() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.link != nil || o.over {
		return false
	}
	o.over = true
	return true
}

// release takes l off a session that will not use it (a handshake
// session whose connection resumed another session).
func (o *outbox) release(l *link) {
	o.mu.Lock()
	if o.link == l {
		o.link = nil
		if o.pend != nil && !o.flushing {
			putBuf(o.pend)
			o.pend, o.pendN = nil, 0
		}
	}
	o.mu.Unlock()
}

// owns reports whether l is the session's current link.
func (o *outbox) owns(l *link) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.link == l
}

// enableReplay makes the session resumable: frames queued from now on are
// kept until acknowledged.
func (o *outbox) enableReplay(maxFrames, maxBytes int) {
	o.mu.Lock()
	o.replay = &replay{maxFrames: maxFrames, maxBytes: maxBytes}
	o.mu.Unlock()
}

// ack drops the frames the client acknowledged.
func (o *outbox) ack(seq uint64) {
	o.mu.Lock()
	if o.replay != nil && seq <= o.seq {
		o.replay.ack(seq)
	}
	o.mu.Unlock()
}

// cached returns the encoded answer to request seq still kept, or nil.
func (o *outbox) cached(reqSeq uint64) []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.replay == nil {
		return nil
	}
	return o.replay.answer(reqSeq)
}

// attach makes l the session's link for a resume by a client that received
// every frame up to lastSeq: first resp (the resume answer, unnumbered),
// then every frame after lastSeq in order. The previous link, if any, is
// aborted. It fails with RESUME_FAILED when the session has ended or the
// frames the client missed are no longer kept.
func (o *outbox) attach(l *link, lastSeq uint64, resp *gamev1.Envelope) error {
	o.mu.Lock()
	switch {
	case o.over || o.replay == nil:
		o.mu.Unlock()
		return gamemesh.Errorf(gamemesh.CodeResumeFailed, "the session has ended")
	case lastSeq > o.seq:
		o.mu.Unlock()
		return gamemesh.Errorf(gamemesh.CodeResumeFailed, "last_seq %d is ahead of the session (%d)", lastSeq, o.seq)
	case lastSeq < o.replay.floor:
		o.mu.Unlock()
		return gamemesh.Errorf(gamemesh.CodeResumeFailed, "frames after %d are no longer kept (from %d on)", lastSeq, o.replay.floor+1)
	}
	old := o.link
	o.link = l
	if o.pend != nil && !o.flushing {
		putBuf(o.pend)
	}
	o.pend = getBuf(chunkSize)
	o.pendN = 0
	n := wire.EnvelopeSize(resp)
	o.pend.b = wire.AppendEnvelope(l.t.appendHeader(o.pend.b, n), resp)
	o.pendN++
	o.replay.ack(lastSeq)
	for _, f := range o.replay.frames {
		o.pend.b = append(l.t.appendHeader(o.pend.b, len(f.payload)), f.payload...)
		o.pendN++
	}
	start := !o.flushing
	o.flushing = true
	o.mu.Unlock()
	if old != nil {
		old.abort()
	}
	if start {
		o.startFlush(true)
	}
	return nil
}
