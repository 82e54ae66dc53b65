package gate

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

func TestLoginAndRequest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	c := e.dial()
	resp := c.login(e, "p1")
	if resp.PlayerId != "p1" || resp.SessionId == "" || resp.HeartbeatIntervalMs != 1000 || resp.ServerTimeMs == 0 {
		t.Fatalf("login response %v", resp)
	}
	loc, err := e.dir.Locate(context.Background(), "p1")
	if err != nil || loc.Gate != "g1" || loc.Session != resp.SessionId {
		t.Fatalf("directory has %v, %v", loc, err)
	}
	if e.g.Online() != 1 {
		t.Fatalf("online %d", e.g.Online())
	}

	c.seq = 6
	seq := c.request("echo.who", nil)
	got := c.expectResponse(seq, gamemesh.CodeOK)
	if want := "p1|" + resp.SessionId + ":7"; string(got.Body) != want || got.Route != "echo.who" {
		t.Fatalf("body %q route %q, want %q", got.Body, got.Route, want)
	}
	if got.Seq != 2 {
		t.Fatalf("second frame from the gate has seq %d, want 2", got.Seq)
	}
	seq = c.request("echo.echo", []byte("hello"))
	if got := c.expectResponse(seq, gamemesh.CodeOK); string(got.Body) != "hello" || got.Seq != 3 {
		t.Fatalf("echo %v", got)
	}
	c.heartbeatRoundTrip()

	_ = c.c.Close()
	eventually(t, "player offline", func() bool { return e.g.Online() == 0 })
	eventually(t, "directory cleared", func() bool {
		_, err := e.dir.Locate(context.Background(), "p1")
		return errors.Is(err, gamemesh.ErrNotFound)
	})
}

func TestOversizeFrame(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.MaxFrameSize = 2048 }, nil)

	// As the first frame: a header announcing 4 GiB, and nothing else.
	c := e.dial()
	c.writeRaw([]byte{0xff, 0xff, 0xff, 0xf0})
	c.expectKick(gamemesh.CodeFrameTooLarge)

	// After login: one byte over the limit.
	c = e.dial()
	c.login(e, "p1")
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], 2049)
	c.writeRaw(hdr[:])
	c.expectKick(gamemesh.CodeFrameTooLarge)
	eventually(t, "session released", func() bool { return e.g.Online() == 0 })
}

func TestTruncatedFrame(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	c := e.dial()
	c.login(e, "p1")
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], 100)
	c.writeRaw(append(hdr[:], make([]byte, 10)...))
	if err := c.c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	c.expectEOF()
	eventually(t, "session released", func() bool { return e.g.Online() == 0 })
}

func TestGarbageBytes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	c := e.dial()
	c.writeRaw([]byte{0, 0, 0, 6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	c.expectKick(gamemesh.CodeProtocol)

	// A well-formed frame of a kind a client may not send, after login.
	c = e.dial()
	c.login(e, "p1")
	c.write(&gamev1.Envelope{Kind: gamev1.Kind_KIND_PUSH, Route: "x.y"})
	c.expectKick(gamemesh.CodeProtocol)
}

func TestCallBeforeLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	c := e.dial()
	c.request("echo.echo", []byte("x"))
	c.expectKick(gamemesh.CodeNotLoggedIn)

	c = e.dial()
	c.write(&gamev1.Envelope{Kind: gamev1.Kind_KIND_HEARTBEAT})
	c.expectKick(gamemesh.CodeNotLoggedIn)

	c = e.dial()
	c.write(&gamev1.Envelope{Kind: gamev1.Kind_KIND_LOGIN, Body: []byte{0xff, 0xff}})
	c.expectKick(gamemesh.CodeBadRequest)
	if e.g.Online() != 0 {
		t.Fatalf("online %d after refused logins", e.g.Online())
	}
}

func TestBadTickets(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)

	expired, _, err := e.signer.Sign("p1", time.Now().Add(-2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	c := e.dial()
	c.sendLogin(expired)
	c.expectKick(gamemesh.CodeTicketExpired)

	other := newEnv(t, nil, nil) // another secret
	c = e.dial()
	c.sendLogin(other.ticket("p1"))
	c.expectKick(gamemesh.CodeBadTicket)

	c = e.dial()
	c.sendLogin("not-a-ticket")
	c.expectKick(gamemesh.CodeBadTicket)

	tok := e.ticket("p1")
	c = e.dial()
	c.sendLogin(tok)
	c.expectLogin()
	replay := e.dial()
	replay.sendLogin(tok)
	replay.expectKick(gamemesh.CodeTicketReplayed)
	c.heartbeatRoundTrip() // the first session is untouched

	e.used.mu.Lock()
	e.used.fail = true
	e.used.mu.Unlock()
	c = e.dial()
	c.sendLogin(e.ticket("p2"))
	c.expectKick(gamemesh.CodeUnavailable)
	if e.g.Online() != 1 {
		t.Fatalf("online %d, want 1", e.g.Online())
	}
}

func TestSecondLoginKicksOlderSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	first := e.dial()
	first.login(e, "p1")
	second := e.dial()
	resp := second.login(e, "p1")

	kick := first.expectKick(gamemesh.CodeKicked)
	if !contains(kick.Error, "elsewhere") {
		t.Fatalf("kick message %q", kick.Error)
	}
	eventually(t, "older session released", func() bool { return e.conns() == 1 })
	loc, err := e.dir.Locate(context.Background(), "p1")
	if err != nil || loc.Session != resp.SessionId {
		t.Fatalf("directory has %v, %v; want session %s", loc, err, resp.SessionId)
	}
	if e.g.Online() != 1 {
		t.Fatalf("online %d", e.g.Online())
	}
	seq := second.request("echo.echo", []byte("still here"))
	second.expectResponse(seq, gamemesh.CodeOK)
}

func TestRouteErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	c := e.dial()
	c.login(e, "p1")
	for _, tc := range []struct {
		route string
		body  []byte
		code  gamemesh.Code
	}{
		{"nodot", nil, gamemesh.CodeUnknownRoute},
		{"bad route.x", nil, gamemesh.CodeUnknownRoute},
		{"nope.method", nil, gamemesh.CodeUnknownRoute},
		{"admin.secret", nil, gamemesh.CodeUnknownRoute},                        // private method
		{"small.put", bytes.Repeat([]byte("x"), 17), gamemesh.CodeBodyTooLarge}, // MaxBody 16
		{"small.put", bytes.Repeat([]byte("x"), 16), gamemesh.CodeOK},
	} {
		seq := c.request(tc.route, tc.body)
		got := c.expectResponse(seq, tc.code)
		if got.Route != tc.route {
			t.Errorf("%s: response route %q", tc.route, got.Route)
		}
	}
	c.heartbeatRoundTrip() // errors do not end the session
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.RateLimit = 0.001; c.RateBurst = 2 }, nil)
	c := e.dial()
	c.login(e, "p1")
	for i := 0; i < 4; i++ {
		c.request("echo.echo", []byte("x"))
	}
	codes := map[uint64]gamemesh.Code{}
	for i := 0; i < 4; i++ {
		env := c.read()
		if env.Kind != gamev1.Kind_KIND_RESPONSE {
			t.Fatalf("got %v", env)
		}
		codes[env.ReplyTo] = env.Code
		if env.Code == gamemesh.CodeRateLimited && !contains(env.Error, "rate limit") {
			t.Fatalf("rate limit message %q", env.Error)
		}
	}
	want := map[uint64]gamemesh.Code{1: gamemesh.CodeOK, 2: gamemesh.CodeOK, 3: gamemesh.CodeRateLimited, 4: gamemesh.CodeRateLimited}
	for seq, code := range want {
		if codes[seq] != code {
			t.Errorf("request %d: %v, want %v", seq, codes[seq], code)
		}
	}
}

func TestMaxInflight(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	started := make(chan struct{}, 2)
	e := newEnv(t, func(c *Config) { c.MaxInflight = 2 }, func(r *functions.Registry) {
		r.Handle("hold", "on", functions.Method{Public: true, Handler: func(ctx context.Context, _ gamemesh.Request) ([]byte, error) {
			started <- struct{}{}
			select {
			case <-release:
				return []byte("done"), nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}})
	})
	c := e.dial()
	c.login(e, "p1")
	c.request("hold.on", nil)
	c.request("hold.on", nil)
	<-started
	<-started
	seq := c.request("hold.on", nil)
	if got := c.expectResponse(seq, gamemesh.CodeRateLimited); !contains(got.Error, "in flight") {
		t.Fatalf("message %q", got.Error)
	}
	close(release)
	for i := 0; i < 2; i++ {
		if env := c.read(); env.Code != gamemesh.CodeOK || string(env.Body) != "done" {
			t.Fatalf("got %v", env)
		}
	}
}

func TestInvokeDeadline(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.CallDeadline = 50 * time.Millisecond }, nil)
	c := e.dial()
	c.login(e, "p1")
	seq := c.request("slow.block", nil)
	got := c.expectResponse(seq, gamemesh.CodeDeadlineExceeded)
	if got.Error != "deadline exceeded" {
		t.Fatalf("message %q", got.Error)
	}
}

func TestInternalCauseNotSent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, func(r *functions.Registry) {
		r.Handle("oops", "fail", functions.Method{Public: true, Handler: func(context.Context, gamemesh.Request) ([]byte, error) {
			return nil, errors.New("redis 10.0.0.7:6379 refused")
		}})
	})
	c := e.dial()
	c.login(e, "p1")
	seq := c.request("oops.fail", nil)
	if got := c.expectResponse(seq, gamemesh.CodeInternal); got.Error != "internal error" {
		t.Fatalf("leaked %q", got.Error)
	}
}

func TestHandshakeDeadline(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.HandshakeTimeout = 100 * time.Millisecond }, nil)
	c := e.dial()
	kick := c.expectKick(gamemesh.CodeTimeout)
	if !contains(kick.Error, "login") {
		t.Fatalf("message %q", kick.Error)
	}
}

func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.HeartbeatInterval = 50 * time.Millisecond }, nil) // idle after 150 ms
	c := e.dial()
	c.login(e, "p1")
	for i := 0; i < 6; i++ { // 300 ms of heartbeats keep it alive
		time.Sleep(50 * time.Millisecond)
		c.heartbeatRoundTrip()
	}
	kick := c.expectKick(gamemesh.CodeTimeout)
	if !contains(kick.Error, "idle") {
		t.Fatalf("message %q", kick.Error)
	}
	eventually(t, "session released", func() bool { return e.g.Online() == 0 })
}

func TestSlowConsumerDisconnected(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.OutQueue = 8 }, nil)
	c := e.dial()
	c.login(e, "p1")
	var s *session
	for x := range e.sessions() {
		s = x
	}
	body := bytes.Repeat([]byte("x"), 32<<10)
	deadline := time.Now().Add(ioWait)
	pushes := 0
	for e.g.Online() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("a client that never reads was never disconnected")
		}
		e.sub.push(t, "p1", "spam.push", body)
		pushes++
		// Let the write loop drain the queue while the socket takes data, so
		// that the queue overflows only once writes block.
		for i := 0; i < 20 && s.queueLen() > 0; i++ {
			time.Sleep(100 * time.Microsecond)
		}
	}
	if pushes <= 8 {
		t.Fatalf("disconnected after %d pushes: the queue never drained", pushes)
	}
	t.Logf("disconnected after %d pushes of %d bytes", pushes, len(body))
	if err := drainToEOF(t, c.c); isTimeout(err) {
		t.Fatalf("connection still open: %v", err)
	}
	eventually(t, "directory cleared", func() bool {
		_, err := e.dir.Locate(context.Background(), "p1")
		return errors.Is(err, gamemesh.ErrNotFound)
	})
}

func TestPushReachesPlayer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	sub := e.sub.only(t)
	if sub.Topic != "push.g1" || sub.Group != "gate-g1" {
		t.Fatalf("subscription %q/%q", sub.Topic, sub.Group)
	}
	c1, c2 := e.dial(), e.dial()
	c1.login(e, "p1")
	c2.login(e, "p2")

	e.sub.push(t, "p2", "mail.new", []byte("you have mail"))
	got := c2.read()
	if got.Kind != gamev1.Kind_KIND_PUSH || got.Route != "mail.new" || string(got.Body) != "you have mail" || got.Seq != 2 {
		t.Fatalf("push %v", got)
	}
	c1.heartbeatRoundTrip() // p1 got nothing before its heartbeat echo

	e.sub.push(t, "p9", "mail.new", nil) // offline: acknowledged and dropped
	if err := sub.Handler(context.Background(), gamemesh.Event{ID: "x", Data: []byte{0xff}}); err != nil {
		t.Fatalf("malformed push not acknowledged: %v", err)
	}
	c2.heartbeatRoundTrip()
}

func TestOperatorKick(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	c := e.dial()
	c.login(e, "p1")
	if e.g.Kick("nobody", gamemesh.CodeKicked, "x") {
		t.Fatal("kicked a player who is not here")
	}
	if !e.g.Kick("p1", gamemesh.CodeKicked, "kicked by an operator") {
		t.Fatal("Kick found no session")
	}
	if got := c.expectKick(gamemesh.CodeKicked); got.Error != "kicked by an operator" {
		t.Fatalf("message %q", got.Error)
	}
	eventually(t, "session released", func() bool { return e.g.Online() == 0 })
}

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	okDeps := Deps{Invoker: invokerFunc(nil), Tickets: nil}
	_, err := New(Config{ID: "X!", MaxFrameSize: 10, RateLimit: -1, OutQueue: -3}, okDeps)
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"ID", "TCPAddr", "MaxFrameSize", "RateLimit", "OutQueue", "Tickets", "Directory"} {
		if !contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
	_, err = New(Config{ID: "g1", TCPAddr: ":0", HeartbeatInterval: time.Second, IdleTimeout: time.Second}, okDeps)
	if err == nil || !contains(err.Error(), "IdleTimeout") {
		t.Fatalf("idle timeout not checked: %v", err)
	}

	g, err := New(testConfig(), Deps{Invoker: invokerFunc(nil), Tickets: nil})
	if g != nil || err == nil {
		t.Fatal("missing deps accepted")
	}
	cfg := testConfig().withDefaults()
	if cfg.IdleTimeout != 3*time.Second || cfg.OutQueue != DefaultOutQueue || cfg.MaxOnline != DefaultMaxOnline {
		t.Fatalf("defaults %+v", cfg)
	}
}

func TestStopBeforeStart(t *testing.T) {
	t.Parallel()
	g, err := New(testConfig(), Deps{Invoker: invokerFunc(nil), Tickets: fakeVerifier{}, Used: &usedTickets{}, Directory: nopDirectory{}, Subscriber: &subscriber{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestStopKicksEveryone(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	e := newEnv(t, func(c *Config) { c.MaxOnline = 1 }, func(r *functions.Registry) {
		r.Handle("work", "short", functions.Method{Public: true, Handler: func(context.Context, gamemesh.Request) ([]byte, error) {
			close(started)
			time.Sleep(100 * time.Millisecond)
			return []byte("finished"), nil
		}})
	})
	online := e.dial()
	online.login(e, "p1")
	queued := e.dial()
	queued.sendLogin(e.ticket("p2"))
	queued.expectQueue(1, 1)
	handshaking := e.dial()
	eventually(t, "three connections", func() bool { return e.conns() == 3 })

	seq := online.request("work.short", nil)
	<-started
	stopped := make(chan error, 1)
	go func() { stopped <- e.g.Stop(context.Background()) }()

	// The call in flight answers before the kick.
	if got := online.expectResponse(seq, gamemesh.CodeOK); string(got.Body) != "finished" {
		t.Fatalf("body %q", got.Body)
	}
	online.expectKick(gamemesh.CodeShuttingDown)
	queued.expectKick(gamemesh.CodeShuttingDown)
	handshaking.expectKick(gamemesh.CodeShuttingDown)
	if err := <-stopped; err != nil {
		t.Fatalf("stop: %v", err)
	}
	if e.conns() != 0 || e.g.Online() != 0 || e.g.Queued() != 0 {
		t.Fatalf("left %d conns, %d online, %d queued", e.conns(), e.g.Online(), e.g.Queued())
	}
	if _, err := net.DialTimeout("tcp", e.g.Addr(), time.Second); err == nil {
		t.Fatal("still accepting after Stop")
	}
}

func TestStopDeadlineForcesClose(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.CallDeadline = time.Minute }, nil)
	c := e.dial()
	c.login(e, "p1")
	c.request("slow.block", nil)
	eventually(t, "call in flight", func() bool {
		for s := range e.sessions() {
			s.mu.Lock()
			n := s.inflight
			s.mu.Unlock()
			if n == 1 {
				return true
			}
		}
		return false
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := e.g.Stop(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stop: %v", err)
	}
	if err := drainToEOF(t, c.c); isTimeout(err) {
		t.Fatal("connection left open")
	}
}

func (s *session) queueLen() int {
	s.out.mu.Lock()
	defer s.out.mu.Unlock()
	return s.out.pendN
}

func (e *env) sessions() map[*session]struct{} {
	e.g.mu.RLock()
	defer e.g.mu.RUnlock()
	out := make(map[*session]struct{}, len(e.g.conns))
	for s := range e.g.conns {
		out[s] = struct{}{}
	}
	return out
}

type fakeVerifier struct{}

func (fakeVerifier) Verify(string, time.Time) (ticketClaims, error) {
	return ticketClaims{}, gamemesh.Errorf(gamemesh.CodeBadTicket, "no")
}

type nopDirectory struct{}

func (nopDirectory) Register(context.Context, gamemesh.PlayerID, dirLocation) (dirLocation, error) {
	return dirLocation{}, nil
}
func (nopDirectory) Unregister(context.Context, gamemesh.PlayerID, string) error { return nil }
