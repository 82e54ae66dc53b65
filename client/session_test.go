package client_test

import (
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/client"
	"github.com/gamemesh/gamemesh/client/clienttest"
)

func TestPush(t *testing.T) {
	s := start(t, clienttest.Config{})
	for name, addr := range addrs(s) {
		t.Run(name, func(t *testing.T) {
			type pushed struct{ route, body string }
			got := make(chan pushed, 1)
			player := gamemesh.NewPlayerID()
			dial(t, s, addr, player, client.Options{
				OnPush: func(route string, body []byte) { got <- pushed{route, string(body)} },
			})
			if !s.Push(player, "mail.new", []byte("m1")) {
				t.Fatal("push not sent")
			}
			select {
			case p := <-got:
				if p.route != "mail.new" || p.body != "m1" {
					t.Fatalf("push = %+v", p)
				}
			case <-time.After(testTimeout):
				t.Fatal("push not received")
			}
		})
	}
}

// A stuck OnPush loses pushes but never stalls responses.
func TestPushOverflowDrops(t *testing.T) {
	b := newBackend()
	s := start(t, clienttest.Config{Handler: b.handle})
	unblock := make(chan struct{})
	entered := make(chan struct{}, 10)
	player := gamemesh.NewPlayerID()
	c := dial(t, s, s.TCPAddr(), player, client.Options{
		PushBuffer: 1,
		OnPush: func(string, []byte) {
			entered <- struct{}{}
			<-unblock
		},
	})
	defer close(unblock) // before the Close registered by dial
	for range 10 {
		if !s.Push(player, "mail.new", nil) {
			t.Fatal("push not sent")
		}
	}
	// The echo's response follows the pushes on the stream: once it is back,
	// the read loop has handled all ten.
	if _, err := c.CallRaw(ctxT(t), "test.echo", nil); err != nil {
		t.Fatalf("call behind a stuck push handler: %v", err)
	}
	if d := c.DroppedPushes(); d < 8 || d > 9 {
		t.Fatalf("dropped %d pushes, want 8 or 9 (one in the handler, at most one buffered)", d)
	}
}

func TestKickEndsSession(t *testing.T) {
	b := newBackend()
	s := start(t, clienttest.Config{Handler: b.handle})
	for name, addr := range addrs(s) {
		t.Run(name, func(t *testing.T) {
			player := gamemesh.NewPlayerID()
			c := dial(t, s, addr, player, client.Options{})
			errc := make(chan error, 1)
			go func() {
				_, err := c.CallRaw(ctxT(t), "test.block", nil)
				errc <- err
			}()
			// Make sure the call is registered before the kick.
			if _, err := c.CallRaw(ctxT(t), "test.echo", nil); err != nil {
				t.Fatal(err)
			}
			if !s.Kick(player, gamemesh.CodeShuttingDown, "bye") {
				t.Fatal("kick not sent")
			}
			waitDone(t, c)
			wantCode(t, c.Err(), gamemesh.CodeShuttingDown)
			if gamemesh.MessageOf(c.Err()) != "bye" {
				t.Fatalf("kick message = %q", gamemesh.MessageOf(c.Err()))
			}
			wantCode(t, <-errc, gamemesh.CodeShuttingDown)
			_, err := c.CallRaw(ctxT(t), "test.echo", nil)
			wantCode(t, err, gamemesh.CodeShuttingDown)
		})
	}
}

func TestDuplicateLoginKicksOlder(t *testing.T) {
	s := start(t, clienttest.Config{})
	player := gamemesh.NewPlayerID()
	old := dial(t, s, s.TCPAddr(), player, client.Options{})
	dial(t, s, s.WSAddr(), player, client.Options{})
	waitDone(t, old)
	wantCode(t, old.Err(), gamemesh.CodeKicked)
}

func TestServerGoneFailsPending(t *testing.T) {
	b := newBackend()
	s, err := clienttest.Start(clienttest.Config{Handler: b.handle})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := dial(t, s, s.TCPAddr(), gamemesh.NewPlayerID(), client.Options{})
	errc := make(chan error, 1)
	go func() {
		_, err := c.CallRaw(ctxT(t), "test.wait", nil)
		errc <- err
	}()
	<-b.started
	s.Close()
	wantCode(t, <-errc, gamemesh.CodeUnavailable)
	waitDone(t, c)
	wantCode(t, c.Err(), gamemesh.CodeUnavailable)
}

func TestHeartbeats(t *testing.T) {
	s := start(t, clienttest.Config{HeartbeatInterval: 20 * time.Millisecond})
	for name, addr := range addrs(s) {
		t.Run(name, func(t *testing.T) {
			player := gamemesh.NewPlayerID()
			c := dial(t, s, addr, player, client.Options{})
			if c.HeartbeatInterval() != 20*time.Millisecond {
				t.Fatalf("interval %v, want the gate's 20ms", c.HeartbeatInterval())
			}
			deadline := time.Now().Add(testTimeout)
			for s.Heartbeats(player) < 3 {
				if time.Now().After(deadline) {
					t.Fatalf("%d heartbeats received by the gate, want 3", s.Heartbeats(player))
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// A gate that goes silent is detected by the read timeout.
func TestReadTimeout(t *testing.T) {
	s := start(t, clienttest.Config{})
	c := dial(t, s, s.TCPAddr(), gamemesh.NewPlayerID(), client.Options{
		HeartbeatInterval: -1, // no heartbeats, so no echoes
		ReadTimeout:       100 * time.Millisecond,
	})
	waitDone(t, c)
	wantCode(t, c.Err(), gamemesh.CodeTimeout)
}

func TestClose(t *testing.T) {
	s := start(t, clienttest.Config{})
	for name, addr := range addrs(s) {
		t.Run(name, func(t *testing.T) {
			player := gamemesh.NewPlayerID()
			c := dial(t, s, addr, player, client.Options{OnPush: func(string, []byte) {}})
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			if err := c.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			waitDone(t, c)
			if c.Err() != client.ErrClosed {
				t.Fatalf("Err = %v, want ErrClosed", c.Err())
			}
			_, err := c.CallRaw(ctxT(t), "test.echo", nil)
			wantCode(t, err, gamemesh.CodeUnavailable)
			deadline := time.Now().Add(testTimeout)
			for s.Online() != 0 {
				if time.Now().After(deadline) {
					t.Fatal("the gate still sees the session")
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}
