package gate

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/ticket"
	"github.com/gamemesh/gamemesh/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const ioWait = 3 * time.Second

// usedTickets is an in-test SingleUse.
type usedTickets struct {
	mu   sync.Mutex
	ids  map[string]time.Time
	fail bool
}

func (u *usedTickets) Use(_ context.Context, id string, until time.Time) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.fail {
		return errors.New("store down")
	}
	if _, ok := u.ids[id]; ok {
		return gamemesh.Wrap(gamemesh.CodeConflict, gamemesh.ErrConflict, "already used")
	}
	u.ids[id] = until
	return nil
}

// subscriber is an in-test gamemesh.Subscriber that keeps the subscription.
type subscriber struct {
	mu   sync.Mutex
	subs []gamemesh.Subscription
}

func (s *subscriber) Subscribe(_ context.Context, sub gamemesh.Subscription) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs = append(s.subs, sub)
	return nil
}

func (s *subscriber) only(t *testing.T) gamemesh.Subscription {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.subs) != 1 {
		t.Fatalf("%d subscriptions, want 1", len(s.subs))
	}
	return s.subs[0]
}

// push simulates a function pushing to player through the gate's topic.
func (s *subscriber) push(t *testing.T, player gamemesh.PlayerID, route string, body []byte) {
	t.Helper()
	data, err := proto.Marshal(&gamev1.PushEnvelope{PlayerId: string(player), Route: route, Body: body})
	if err != nil {
		t.Fatal(err)
	}
	sub := s.only(t)
	if err := sub.Handler(context.Background(), gamemesh.Event{ID: gamemesh.NewID(), Topic: sub.Topic, Data: data}); err != nil {
		t.Fatalf("push handler: %v", err)
	}
}

type invokerFunc func(ctx context.Context, req gamemesh.Request) ([]byte, error)

func (f invokerFunc) Invoke(ctx context.Context, req gamemesh.Request) ([]byte, error) {
	return f(ctx, req)
}

// env is a started gate with real tickets, an in-process directory and a
// functions registry behind the invoker.
type env struct {
	t      testing.TB
	g      *Gate
	signer *ticket.Signer
	reg    *functions.Registry
	dir    *directory.Memory
	used   *usedTickets
	sub    *subscriber
}

func testConfig() Config {
	return Config{
		ID:                "g1",
		TCPAddr:           "127.0.0.1:0",
		WSAddr:            "127.0.0.1:0",
		HandshakeTimeout:  2 * time.Second,
		HeartbeatInterval: time.Second,
		CallDeadline:      time.Second,
		RateLimit:         1000,
		RateBurst:         1000,
		AdmissionRate:     1000,
	}
}

func randomSecret(t testing.TB) []byte {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// newEnv starts a gate; mutate adjusts the test config, and the registry has
// echo.echo, echo.who, slow.block, small.put (MaxBody 16) and admin.secret
// (private) before setup adds more.
func newEnv(t testing.TB, mutate func(*Config), setup func(*functions.Registry)) *env {
	t.Helper()
	return newEnvDeps(t, mutate, setup, nil)
}

// newEnvDeps is newEnv with a hook that adjusts the gate's Deps.
func newEnvDeps(t testing.TB, mutate func(*Config), setup func(*functions.Registry), deps func(*Deps)) *env {
	t.Helper()
	secret := randomSecret(t)
	signer, err := ticket.NewSigner(secret, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := ticket.NewVerifier(secret)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, signer: signer, reg: functions.NewRegistry(), dir: directory.NewMemory(),
		used: &usedTickets{ids: map[string]time.Time{}}, sub: &subscriber{}}
	echo := func(_ context.Context, req gamemesh.Request) ([]byte, error) { return req.Body, nil }
	e.reg.Handle("echo", "echo", functions.Method{Public: true, Handler: echo})
	e.reg.Handle("echo", "who", functions.Method{Public: true, Handler: func(_ context.Context, req gamemesh.Request) ([]byte, error) {
		return []byte(string(req.Player) + "|" + req.ID), nil
	}})
	e.reg.Handle("slow", "block", functions.Method{Public: true, Handler: func(ctx context.Context, _ gamemesh.Request) ([]byte, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}})
	e.reg.Handle("small", "put", functions.Method{Public: true, MaxBody: 16, Handler: echo})
	e.reg.Handle("admin", "secret", functions.Method{Handler: echo})
	if setup != nil {
		setup(e.reg)
	}
	cfg := testConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	d := Deps{
		Invoker:    invokerFunc(e.reg.Call),
		Tickets:    verifier,
		Used:       e.used,
		Directory:  e.dir,
		Subscriber: e.sub,
	}
	if deps != nil {
		deps(&d)
	}
	g, err := New(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.g = g
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := g.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return e
}

func (e *env) ticket(player gamemesh.PlayerID) string {
	e.t.Helper()
	tok, _, err := e.signer.Sign(player, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// eventually polls cond for up to ioWait.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(ioWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *env) conns() int {
	e.g.mu.RLock()
	defer e.g.mu.RUnlock()
	return len(e.g.conns)
}

// client is a raw framed TCP client.
type client struct {
	t   testing.TB
	c   net.Conn
	r   *wire.Reader
	seq uint64
}

func (e *env) dial() *client {
	e.t.Helper()
	c, err := net.Dial("tcp", e.g.Addr())
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { _ = c.Close() })
	return &client{t: e.t, c: c, r: wire.NewReader(c, 1<<20)}
}

func (c *client) writeRaw(b []byte) {
	c.t.Helper()
	if _, err := c.c.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *client) write(env *gamev1.Envelope) {
	c.t.Helper()
	b, err := wire.Append(nil, env)
	if err != nil {
		c.t.Fatal(err)
	}
	c.writeRaw(b)
}

func (c *client) sendLogin(tok string) {
	c.t.Helper()
	body, _ := proto.Marshal(&gamev1.LoginRequest{Ticket: tok})
	c.write(&gamev1.Envelope{Kind: gamev1.Kind_KIND_LOGIN, Body: body})
}

// request sends a request and returns its seq.
func (c *client) request(route string, body []byte) uint64 {
	c.t.Helper()
	c.seq++
	c.write(&gamev1.Envelope{Kind: gamev1.Kind_KIND_REQUEST, Seq: c.seq, Route: route, Body: body})
	return c.seq
}

func (c *client) readErr() (*gamev1.Envelope, error) {
	_ = c.c.SetReadDeadline(time.Now().Add(ioWait))
	return c.r.Read()
}

func (c *client) read() *gamev1.Envelope {
	c.t.Helper()
	env, err := c.readErr()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return env
}

// expectEOF asserts the gate closes the connection without another frame.
func (c *client) expectEOF() {
	c.t.Helper()
	env, err := c.readErr()
	if err == nil {
		c.t.Fatalf("got %v, want the connection closed", env)
	}
	if errors.Is(err, wire.ErrTruncated) || isTimeout(err) {
		c.t.Fatalf("got %v, want a clean close", err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// expectKick reads the next frame, asserts it is a KICK with code, then
// asserts the connection ends and closes it.
func (c *client) expectKick(code gamemesh.Code) *gamev1.Envelope {
	c.t.Helper()
	env := c.read()
	if env.Kind != gamev1.Kind_KIND_KICK || env.Code != code {
		c.t.Fatalf("got %v, want KICK %v", env, code)
	}
	if env.Error == "" {
		c.t.Fatalf("kick %v without a message", code)
	}
	c.expectEOF()
	_ = c.c.Close()
	return env
}

// expectLogin reads frames, skipping QUEUE updates, until the login response.
func (c *client) expectLogin() *gamev1.LoginResponse {
	c.t.Helper()
	for {
		env := c.read()
		if env.Kind == gamev1.Kind_KIND_QUEUE {
			continue
		}
		if env.Kind != gamev1.Kind_KIND_RESPONSE || env.Route != "login" || env.ReplyTo != 0 || env.Code != gamemesh.CodeOK {
			c.t.Fatalf("got %v, want the login response", env)
		}
		var resp gamev1.LoginResponse
		if err := proto.Unmarshal(env.Body, &resp); err != nil {
			c.t.Fatal(err)
		}
		return &resp
	}
}

func (c *client) login(e *env, player gamemesh.PlayerID) *gamev1.LoginResponse {
	c.t.Helper()
	c.sendLogin(e.ticket(player))
	return c.expectLogin()
}

func (c *client) expectQueue(pos, n int64) {
	c.t.Helper()
	env := c.read()
	var st gamev1.QueueStatus
	if env.Kind != gamev1.Kind_KIND_QUEUE {
		c.t.Fatalf("got %v, want QUEUE %d/%d", env, pos, n)
	}
	if err := proto.Unmarshal(env.Body, &st); err != nil {
		c.t.Fatal(err)
	}
	if st.Position != pos || st.Length != n {
		c.t.Fatalf("queue status %d/%d, want %d/%d", st.Position, st.Length, pos, n)
	}
}

// expectResponse reads the next frame and asserts it answers seq with code.
func (c *client) expectResponse(seq uint64, code gamemesh.Code) *gamev1.Envelope {
	c.t.Helper()
	env := c.read()
	if env.Kind != gamev1.Kind_KIND_RESPONSE || env.ReplyTo != seq || env.Code != code {
		c.t.Fatalf("got %v, want RESPONSE to %d with %v", env, seq, code)
	}
	if code != gamemesh.CodeOK && env.Error == "" {
		c.t.Fatalf("error response without a message: %v", env)
	}
	return env
}

// heartbeatRoundTrip asserts the next frame the gate sends after a heartbeat
// is its echo (so nothing else was queued before it).
func (c *client) heartbeatRoundTrip() {
	c.t.Helper()
	c.write(&gamev1.Envelope{Kind: gamev1.Kind_KIND_HEARTBEAT})
	if env := c.read(); env.Kind != gamev1.Kind_KIND_HEARTBEAT {
		c.t.Fatalf("got %v, want HEARTBEAT", env)
	}
}

// drainToEOF reads whatever the gate sent until the stream ends.
func drainToEOF(t *testing.T, c net.Conn) error {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(ioWait))
	_, err := io.Copy(io.Discard, c)
	return err
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

type (
	ticketClaims = ticket.Claims
	dirLocation  = directory.Location
)
