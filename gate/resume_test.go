package gate

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

func (c *client) sendLoginReq(req *gamev1.LoginRequest) {
	c.t.Helper()
	body, _ := proto.Marshal(req)
	c.write(&gamev1.Envelope{Kind: gamev1.Kind_KIND_LOGIN, Body: body})
}

// loginResumable logs in asking for a resumable session.
func (c *client) loginResumable(e *env, player gamemesh.PlayerID) *gamev1.LoginResponse {
	c.t.Helper()
	c.sendLoginReq(&gamev1.LoginRequest{Ticket: e.ticket(player), Resumable: true})
	lr := c.expectLogin()
	if lr.ResumeToken == "" || lr.ResumeGraceMs <= 0 {
		c.t.Fatalf("resumable login without a token or grace: %v", lr)
	}
	return lr
}

// resume sends a resume and reads the answer (nil and the kick when refused).
func (c *client) resume(token string, lastSeq uint64) (*gamev1.LoginResponse, *gamev1.Envelope) {
	c.t.Helper()
	c.sendLoginReq(&gamev1.LoginRequest{ResumeToken: token, LastSeq: lastSeq})
	env := c.read()
	if env.Kind == gamev1.Kind_KIND_KICK {
		return nil, env
	}
	if env.Kind != gamev1.Kind_KIND_RESPONSE || env.Route != "login" || env.Seq != 0 {
		c.t.Fatalf("got %v, want the resume answer", env)
	}
	var lr gamev1.LoginResponse
	if err := proto.Unmarshal(env.Body, &lr); err != nil {
		c.t.Fatal(err)
	}
	return &lr, nil
}

// detached waits until the gate holds n detached sessions.
func (e *env) waitDetached(t *testing.T, n int) {
	t.Helper()
	eventually(t, "detached sessions", func() bool { return e.g.Detached() == n })
}

func TestResumeReplaysMissedFramesInOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	c := e.dial()
	lr := c.loginResumable(e, "p1")
	seq := c.request("echo.echo", []byte("a"))
	first := c.expectResponse(seq, gamemesh.CodeOK)
	_ = c.c.Close()
	e.waitDetached(t, 1)
	if e.g.Online() != 1 {
		t.Fatalf("a detached session gave up its slot: online %d", e.g.Online())
	}
	// While detached, pushes still reach the session and wait for it.
	for _, b := range []string{"x", "y", "z"} {
		e.sub.push(t, "p1", "mail.new", []byte(b))
	}

	c2 := e.dial()
	got, kick := c2.resume(lr.ResumeToken, first.Seq)
	if kick != nil {
		t.Fatalf("resume refused: %v", kick)
	}
	if !got.Resumed || got.SessionId != lr.SessionId || got.ResumeToken == "" || got.ResumeToken == lr.ResumeToken {
		t.Fatalf("resume answer %v", got)
	}
	for i, b := range []string{"x", "y", "z"} {
		p := c2.read()
		if p.Kind != gamev1.Kind_KIND_PUSH || string(p.Body) != b || p.Seq != first.Seq+1+uint64(i) {
			t.Fatalf("replayed frame %d: %v, want push %q with seq %d", i, p, b, first.Seq+1+uint64(i))
		}
	}
	// The session goes on, numbering on.
	c2.seq = seq
	seq = c2.request("echo.echo", []byte("b"))
	if r := c2.expectResponse(seq, gamemesh.CodeOK); r.Seq != first.Seq+4 || string(r.Body) != "b" {
		t.Fatalf("after resume: %v", r)
	}
	if e.g.Detached() != 0 || e.g.Online() != 1 {
		t.Fatalf("detached %d online %d", e.g.Detached(), e.g.Online())
	}

	// The first token was used up by the resume.
	c3 := e.dial()
	if _, kick := c3.resume(lr.ResumeToken, 0); kick == nil || kick.Code != gamemesh.CodeResumeFailed {
		t.Fatalf("replayed resume token: %v, want RESUME_FAILED", kick)
	}
}

func TestResumeAnswersRepeatedRequestsWithoutRunningThemTwice(t *testing.T) {
	t.Parallel()
	var runs atomic.Int32
	release := make(chan struct{})
	e := newEnv(t, nil, func(r *functions.Registry) {
		r.Handle("count", "once", functions.Method{Public: true, Handler: func(context.Context, gamemesh.Request) ([]byte, error) {
			return []byte{byte(runs.Add(1))}, nil
		}})
		r.Handle("count", "slow", functions.Method{Public: true, Handler: func(ctx context.Context, _ gamemesh.Request) ([]byte, error) {
			runs.Add(1)
			select {
			case <-release:
			case <-ctx.Done():
			}
			return []byte("slow done"), nil
		}})
	})
	c := e.dial()
	lr := c.loginResumable(e, "p1")
	// Request 1 is answered but the client drops before reading it;
	// request 2 is still running when the connection drops.
	c.seq = 0
	one := c.request("count.once", nil)
	waitRuns(t, &runs, 1)
	two := c.request("count.slow", nil)
	waitRuns(t, &runs, 2)
	_ = c.c.Close()
	e.waitDetached(t, 1)

	c2 := e.dial()
	if _, kick := c2.resume(lr.ResumeToken, 1); kick != nil { // saw only the login answer (seq 1)
		t.Fatalf("resume refused: %v", kick)
	}
	// The answer to 1 is replayed; the client, not knowing yet, repeats
	// both requests.
	r := c2.read()
	if r.Kind != gamev1.Kind_KIND_RESPONSE || r.ReplyTo != one || r.Body[0] != 1 {
		t.Fatalf("replayed %v, want the answer to request 1", r)
	}
	c2.seq = 0
	c2.request("count.once", nil) // seq 1 again: answered from the buffer
	c2.request("count.slow", nil) // seq 2 again: in flight, not run again
	again := c2.read()
	if again.ReplyTo != one || again.Body[0] != 1 {
		t.Fatalf("repeated request 1: %v, want its kept answer", again)
	}
	c2.heartbeatRoundTrip() // the gate has handled the repeat of 2 (frames are handled in order)
	close(release)
	slow := c2.expectResponse(two, gamemesh.CodeOK)
	if string(slow.Body) != "slow done" {
		t.Fatalf("slow answer %q", slow.Body)
	}
	c2.heartbeatRoundTrip() // nothing else was sent: request 2 answered once
	if n := runs.Load(); n != 2 {
		t.Fatalf("handlers ran %d times, want 2 (each request once)", n)
	}
	// Acknowledged answers are forgotten: a request repeated after its answer
	// was acknowledged is refused, never run again.
	c2.write(&gamev1.Envelope{Kind: gamev1.Kind_KIND_HEARTBEAT, Ack: slow.Seq})
	c2.read() // the echo
	c2.seq = 0
	seq := c2.request("count.once", nil)
	c2.expectResponse(seq, gamemesh.CodeAlreadyDone)
	if n := runs.Load(); n != 2 {
		t.Fatalf("handlers ran %d times after the repeat, want 2", n)
	}
}

func waitRuns(t *testing.T, runs *atomic.Int32, n int32) {
	t.Helper()
	eventually(t, "handler runs", func() bool { return runs.Load() >= n })
}

func TestResumeRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.ReplayFrames = 4 }, nil)
	c := e.dial()
	lr := c.loginResumable(e, "p1")
	other := e.dial()
	olr := other.loginResumable(e, "p2")
	_ = c.c.Close()
	e.waitDetached(t, 1)

	tamper := func(tok string) string {
		b := []byte(tok)
		i := len(b) / 2
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	for name, tok := range map[string]string{
		"forged":   "not-a-token",
		"tampered": tamper(lr.ResumeToken),
		"too long": strings.Repeat("A", maxResumeTokenLen+1),
		// Signed by this gate, but naming p1's session for p2.
		"another player's": mintResumeToken(e.g.resumeKey, resumeClaims{player: "p2", session: lr.SessionId}),
		// Signed elsewhere (another gate, or before a restart).
		"another key": mintResumeToken(randomSecret(t), resumeClaims{player: "p1", session: lr.SessionId}),
		// p2's own token does not resume p1.
		"a live session's, other generation": mintResumeToken(e.g.resumeKey, resumeClaims{player: "p2", session: olr.SessionId, gen: 7}),
	} {
		d := e.dial()
		if _, kick := d.resume(tok, 1); kick == nil || kick.Code != gamemesh.CodeResumeFailed || kick.Error == "" {
			t.Errorf("%s token: %v, want RESUME_FAILED", name, kick)
		}
	}
	if e.g.Detached() != 1 {
		t.Fatalf("refused resumes ended the detached session")
	}
	// Frames the client missed that the buffer no longer holds: refused.
	for i := range 6 {
		e.sub.push(t, "p1", "mail.new", []byte{byte(i)})
	}
	d := e.dial()
	if _, kick := d.resume(lr.ResumeToken, 1); kick == nil || kick.Code != gamemesh.CodeResumeFailed {
		t.Fatalf("resume past the replay buffer: %v, want RESUME_FAILED", kick)
	}
	// A last_seq ahead of the session: refused.
	c5 := e.dial()
	lr5 := c5.loginResumable(e, "p5")
	_ = c5.c.Close()
	eventually(t, "p5 detached", func() bool { return e.g.Detached() >= 1 })
	d = e.dial()
	if _, kick := d.resume(lr5.ResumeToken, 99); kick == nil || kick.Code != gamemesh.CodeResumeFailed {
		t.Fatalf("resume ahead of the session: %v", kick)
	}
}

func TestResumeGraceExpires(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.ResumeGrace = 100 * time.Millisecond }, nil)
	c := e.dial()
	lr := c.loginResumable(e, "p1")
	_ = c.c.Close()
	eventually(t, "session ended after its grace", func() bool { return e.g.Online() == 0 && e.g.Detached() == 0 })
	eventually(t, "p1 gone from the directory", func() bool {
		_, err := e.dir.Locate(context.Background(), "p1")
		return errors.Is(err, gamemesh.ErrNotFound)
	})
	d := e.dial()
	if _, kick := d.resume(lr.ResumeToken, 1); kick == nil || kick.Code != gamemesh.CodeResumeFailed {
		t.Fatalf("resume after the grace: %v, want RESUME_FAILED", kick)
	}
}

func TestResumeHoldsTheSlotAndLogoutEndsAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.MaxOnline = 1 }, nil)
	c := e.dial()
	lr := c.loginResumable(e, "p1")
	_ = c.c.Close()
	e.waitDetached(t, 1)
	// p1's slot is reserved for it: p2 queues.
	q := e.dial()
	q.sendLoginReq(&gamev1.LoginRequest{Ticket: e.ticket("p2"), Resumable: true})
	q.expectQueue(1, 1)
	// p1 comes back with its token and is online at once; p2 still waits.
	c2 := e.dial()
	if _, kick := c2.resume(lr.ResumeToken, 1); kick != nil {
		t.Fatalf("resume: %v", kick)
	}
	c2.heartbeatRoundTrip()
	if e.g.Queued() != 1 {
		t.Fatalf("queued %d, want p2 still waiting", e.g.Queued())
	}
	// A LOGOUT ends the session at once: no grace, the slot goes to p2.
	c2.write(&gamev1.Envelope{Kind: gamev1.Kind_KIND_LOGOUT})
	q.expectLogin()
	if e.g.Detached() != 0 {
		t.Fatalf("a logged-out session was detached")
	}
	// A fresh ticket login of a detached player takes its own slot over
	// without queueing, and the detached session ends.
	_ = q.c.Close()
	e.waitDetached(t, 1)
	q2 := e.dial()
	q2.login(e, "p2")
	if e.g.Detached() != 0 || e.g.Online() != 1 {
		t.Fatalf("detached %d online %d after the fresh login", e.g.Detached(), e.g.Online())
	}
}

func TestResumeTokenRoundTripAndGarbage(t *testing.T) {
	t.Parallel()
	key := randomSecret(t)
	c := resumeClaims{player: "p1", session: "01HZX", gen: 3}
	got, err := parseResumeToken(key, mintResumeToken(key, c))
	if err != nil || got != c {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	for _, bad := range []string{"", "!!!", mintResumeToken(key, resumeClaims{player: "bad id!", session: "s"}),
		mintResumeToken(key, resumeClaims{player: "p1"})} {
		if _, err := parseResumeToken(key, bad); !errors.Is(err, errBadResumeToken) {
			t.Errorf("%q: %v, want errBadResumeToken", bad, err)
		}
	}
}

// putMany (a scene tick's frames for one session) queues a batch in one
// step, only after the login response, and never beyond the queue's bound.
func TestPutManyQueuesABatchAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.OutQueue = 4 }, nil)
	c := e.dial()
	c.login(e, "p1")
	var s *session
	for x := range e.sessions() {
		s = x
	}
	batch := []*gamev1.Envelope{{Kind: gamev1.Kind_KIND_RESPONSE, ReplyTo: 1, Route: "scene.move"}, {Kind: gamev1.Kind_KIND_PUSH, Route: "scene.update"}}
	s.out.mu.Lock()
	s.out.flushing = true // hold the writer back: what is queued stays queued
	s.out.mu.Unlock()
	if err := s.out.putMany(append(batch, batch...)); err != nil { // 4 fit
		t.Fatal(err)
	}
	if err := s.out.putMany(batch[:1]); !errors.Is(err, errOutFull) {
		t.Fatalf("over the bound: %v", err)
	}
	if err := s.out.putMany(nil); err != nil {
		t.Fatalf("empty batch: %v", err)
	}
	s.out.flushNow() // nothing: the writer is "at work"
	s.out.mu.Lock()
	s.out.flushing = false
	s.out.mu.Unlock()
	s.out.flushNow()
	for i, want := range []gamev1.Kind{gamev1.Kind_KIND_RESPONSE, gamev1.Kind_KIND_PUSH, gamev1.Kind_KIND_RESPONSE, gamev1.Kind_KIND_PUSH} {
		if env := c.read(); env.Kind != want || env.Seq != uint64(2+i) {
			t.Fatalf("frame %d: %v", i, env)
		}
	}
	// A session not yet logged in takes no batch.
	h := e.g.newSession(nil)
	if err := h.out.putMany(batch); !errors.Is(err, errOutClosed) {
		t.Fatalf("before the login response: %v", err)
	}
}
