package client_test

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/client"
	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/functions"
	"github.com/gamemesh/gamemesh/gate"
	"github.com/gamemesh/gamemesh/ticket"
)

// realGate starts a gate (the real one) with a functions registry behind it.
type realGate struct {
	g      *gate.Gate
	signer *ticket.Signer
	reg    *functions.Registry
	push   func(player gamemesh.PlayerID, route string, body []byte)
}

type onceSet struct {
	mu  sync.Mutex
	ids map[string]bool
}

func (o *onceSet) Use(_ context.Context, id string, _ time.Time) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ids[id] {
		return gamemesh.Wrap(gamemesh.CodeConflict, gamemesh.ErrConflict, "used")
	}
	o.ids[id] = true
	return nil
}

type pushSub struct {
	mu sync.Mutex
	h  gamemesh.EventHandler
}

func (p *pushSub) Subscribe(_ context.Context, s gamemesh.Subscription) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.h = s.Handler
	return nil
}

func startGate(t *testing.T, cfg gate.Config) *realGate {
	t.Helper()
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	signer, _ := ticket.NewSigner(secret, time.Minute)
	verifier, _ := ticket.NewVerifier(secret)
	reg := functions.NewRegistry()
	sub := &pushSub{}
	dir := directory.NewMemory()
	cfg.ID, cfg.TCPAddr, cfg.WSAddr = "g1", "127.0.0.1:0", "127.0.0.1:0"
	g, err := gate.New(cfg, gate.Deps{Invoker: invoker(reg.Call), Tickets: verifier, Used: &onceSet{ids: map[string]bool{}},
		Directory: dir, Subscriber: sub})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = g.Stop(ctx)
	})
	rg := &realGate{g: g, signer: signer, reg: reg}
	rg.push = func(player gamemesh.PlayerID, route string, body []byte) {
		t.Helper()
		if err := (directory.Pusher{Locator: dir, Publisher: publishTo{sub}}).Push(context.Background(), player, route, body); err != nil {
			t.Fatal(err)
		}
	}
	return rg
}

type invoker func(context.Context, gamemesh.Request) ([]byte, error)

func (f invoker) Invoke(ctx context.Context, r gamemesh.Request) ([]byte, error) { return f(ctx, r) }

// publishTo hands a published event straight to the gate's subscription.
type publishTo struct{ s *pushSub }

func (p publishTo) Publish(ctx context.Context, _ string, ev gamemesh.Event) error {
	s := p.s
	s.mu.Lock()
	h := s.h
	s.mu.Unlock()
	return h(ctx, ev)
}

func (rg *realGate) ticket(t *testing.T, p gamemesh.PlayerID) string {
	tok, _, err := rg.signer.Sign(p, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// proxy forwards TCP connections to target until cut, which drops every
// connection it carries (as a network failure would); refuse makes it drop
// new ones at once too.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	refuse bool
	wg     sync.WaitGroup
}

func startProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refuse := p.refuse
		p.mu.Unlock()
		if refuse {
			_ = c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { defer p.wg.Done(); _, _ = io.Copy(up, c); _ = up.Close() }()
		go func() { defer p.wg.Done(); _, _ = io.Copy(c, up); _ = c.Close() }()
	}
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

func (p *proxy) setRefuse(v bool) {
	p.mu.Lock()
	p.refuse = v
	p.mu.Unlock()
}

func TestResumeAfterADroppedConnection(t *testing.T) {
	rg := startGate(t, gate.Config{ResumeGrace: 5 * time.Second, HeartbeatInterval: time.Second})
	var runs atomic.Int32
	entered, release := make(chan struct{}, 1), make(chan struct{})
	rg.reg.Handle("test", "echo", functions.Method{Public: true, Handler: func(_ context.Context, r gamemesh.Request) ([]byte, error) {
		return r.Body, nil
	}})
	rg.reg.Handle("test", "slow", functions.Method{Public: true, Handler: func(ctx context.Context, _ gamemesh.Request) ([]byte, error) {
		runs.Add(1)
		entered <- struct{}{}
		select {
		case <-release:
			return []byte("done once"), nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}})
	px := startProxy(t, rg.g.Addr())
	pushes := make(chan string, 4)
	var resumedIn atomic.Int64
	c, err := client.Dial(ctxT(t), "tcp://"+px.ln.Addr().String(), rg.ticket(t, "p1"), client.Options{
		OnPush:   func(route string, body []byte) { pushes <- string(body) },
		OnResume: func(d time.Duration) { resumedIn.Store(int64(d)) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ok, grace := c.Resumable(); !ok || grace != 5*time.Second {
		t.Fatalf("resumable %v %v", ok, grace)
	}
	if !c.Compressed() {
		t.Fatal("compression not negotiated by default")
	}
	if b, err := c.CallRaw(ctxT(t), "test.echo", []byte("before")); err != nil || string(b) != "before" {
		t.Fatalf("echo %q %v", b, err)
	}
	// A call is running when the network drops; a push is sent meanwhile.
	answer := make(chan error, 1)
	var got []byte
	go func() {
		var err error
		got, err = c.CallRaw(ctxT(t), "test.slow", nil)
		answer <- err
	}()
	<-entered
	px.setRefuse(true)
	px.cut()
	time.Sleep(100 * time.Millisecond) // the client retries while the network is down
	rg.push("p1", "mail.new", []byte("while away"))
	close(release)
	px.setRefuse(false)

	if err := <-answer; err != nil || string(got) != "done once" {
		t.Fatalf("call across the drop: %q %v", got, err)
	}
	select {
	case b := <-pushes:
		if b != "while away" {
			t.Fatalf("push %q", b)
		}
	case <-time.After(testTimeout):
		t.Fatal("the push sent while the connection was down never arrived")
	}
	if runs.Load() != 1 {
		t.Fatalf("the slow call ran %d times", runs.Load())
	}
	if c.Resumes() != 1 || resumedIn.Load() <= 0 {
		t.Fatalf("resumes %d in %v", c.Resumes(), time.Duration(resumedIn.Load()))
	}
	select {
	case <-c.Done():
		t.Fatalf("session ended: %v", c.Err())
	default:
	}
	if b, err := c.CallRaw(ctxT(t), "test.echo", []byte("after")); err != nil || string(b) != "after" {
		t.Fatalf("echo after the resume %q %v", b, err)
	}
}

func TestResumeGivesUpAfterTheGrace(t *testing.T) {
	rg := startGate(t, gate.Config{ResumeGrace: 300 * time.Millisecond})
	px := startProxy(t, rg.g.Addr())
	c, err := client.Dial(ctxT(t), "tcp://"+px.ln.Addr().String(), rg.ticket(t, "p1"), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	px.setRefuse(true)
	px.cut()
	waitDone(t, c)
	wantCode(t, c.Err(), gamemesh.CodeUnavailable)
	if c.Resumes() != 0 {
		t.Fatalf("resumed %d times through a refusing network", c.Resumes())
	}
	px.setRefuse(false)
	// A session the gate ended is not resumed even when the network is back.
	if _, err := c.CallRaw(ctxT(t), "test.echo", nil); err == nil {
		t.Fatal("call on an ended session")
	}
}

func TestNoResumeAfterAKickOrWhenDisabled(t *testing.T) {
	rg := startGate(t, gate.Config{ResumeGrace: 5 * time.Second})
	c, err := client.Dial(ctxT(t), "tcp://"+rg.g.Addr(), rg.ticket(t, "p1"), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rg.g.Kick("p1", gamemesh.CodeBanned, "banned")
	waitDone(t, c)
	wantCode(t, c.Err(), gamemesh.CodeBanned)

	px := startProxy(t, rg.g.Addr())
	d, err := client.Dial(ctxT(t), "tcp://"+px.ln.Addr().String(), rg.ticket(t, "p2"), client.Options{DisableResume: true, DisableCompression: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if ok, _ := d.Resumable(); ok || d.Compressed() {
		t.Fatal("resume or compression granted though disabled")
	}
	px.cut()
	waitDone(t, d)
	if err := d.Err(); gamemesh.CodeOf(err) != gamemesh.CodeUnavailable || errors.Is(err, client.ErrClosed) {
		t.Fatalf("non-resumable session after a drop: %v", err)
	}
}

// Concurrent calls on one resumable session all run: the SDK hands requests
// to the gate in seq order, so none looks like a repeat of an earlier one
// (which the gate would answer ALREADY_DONE without running it).
func TestConcurrentCallsOnAResumableSessionAllRun(t *testing.T) {
	rg := startGate(t, gate.Config{ResumeGrace: 5 * time.Second, RateLimit: 1e6, RateBurst: 1e6, MaxInflight: 1024})
	var runs atomic.Int64
	rg.reg.Handle("test", "count", functions.Method{Public: true, Handler: func(context.Context, gamemesh.Request) ([]byte, error) {
		runs.Add(1)
		return nil, nil
	}})
	c, err := client.Dial(ctxT(t), "tcp://"+rg.g.Addr(), rg.ticket(t, "p1"), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const goroutines, each = 16, 50
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range goroutines {
		wg.Go(func() {
			for range each {
				if _, err := c.CallRaw(ctxT(t), "test.count", nil); err != nil {
					failed.Add(1)
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := runs.Load(); failed.Load() != 0 || n != goroutines*each {
		t.Fatalf("%d calls ran, %d failed; want all %d to run", n, failed.Load(), goroutines*each)
	}
}
