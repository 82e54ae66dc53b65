package gate

import (
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
)

func TestLoginQueue(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.MaxOnline = 1; c.QueueCap = 3 }, nil)
	c0 := e.dial()
	c0.login(e, "p0")

	c1, c2, c3 := e.dial(), e.dial(), e.dial()
	for i, c := range []*client{c1, c2, c3} {
		c.sendLogin(e.ticket(gamemesh.PlayerID("p" + string(rune('1'+i)))))
		c.expectQueue(int64(i+1), int64(i+1))
	}
	if e.g.Online() != 1 || e.g.Queued() != 3 {
		t.Fatalf("online %d queued %d", e.g.Online(), e.g.Queued())
	}

	full := e.dial()
	full.sendLogin(e.ticket("p4"))
	full.expectKick(gamemesh.CodeServerFull)

	// A queued client asking for anything but a heartbeat is told to wait.
	seq := c3.request("echo.echo", nil)
	c3.expectResponse(seq, gamemesh.CodeNotLoggedIn)
	c3.heartbeatRoundTrip()

	// A queued client that leaves frees its place: the one behind moves up.
	_ = c2.c.Close()
	c3.expectQueue(2, 2)
	if e.g.Queued() != 2 {
		t.Fatalf("queued %d after a queued client left", e.g.Queued())
	}

	// A free slot admits the head of the queue, in order.
	_ = c0.c.Close()
	if resp := c1.expectLogin(); resp.PlayerId != "p1" {
		t.Fatalf("admitted %s", resp.PlayerId)
	}
	c3.expectQueue(1, 1)
	seq = c1.request("echo.echo", []byte("in"))
	c1.expectResponse(seq, gamemesh.CodeOK)

	_ = c1.c.Close()
	if resp := c3.expectLogin(); resp.PlayerId != "p3" {
		t.Fatalf("admitted %s", resp.PlayerId)
	}
	if e.g.Online() != 1 || e.g.Queued() != 0 {
		t.Fatalf("online %d queued %d", e.g.Online(), e.g.Queued())
	}
}

func TestQueuedPlayerLogsInAgain(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.MaxOnline = 1 }, nil)
	c0 := e.dial()
	c0.login(e, "p0")
	a, b := e.dial(), e.dial()
	a.sendLogin(e.ticket("p1"))
	a.expectQueue(1, 1)
	b.sendLogin(e.ticket("p2"))
	b.expectQueue(2, 2)

	// p1 logs in again: the new connection takes the old one's place.
	a2 := e.dial()
	a2.sendLogin(e.ticket("p1"))
	a2.expectQueue(1, 2)
	a.expectKick(gamemesh.CodeKicked)
	if e.g.Queued() != 2 {
		t.Fatalf("queued %d", e.g.Queued())
	}
	_ = c0.c.Close()
	if resp := a2.expectLogin(); resp.PlayerId != "p1" {
		t.Fatalf("admitted %s", resp.PlayerId)
	}
}

func TestOnlinePlayerReconnectSkipsQueue(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.MaxOnline = 1 }, nil)
	old := e.dial()
	old.login(e, "p1")
	waiting := e.dial()
	waiting.sendLogin(e.ticket("p2"))
	waiting.expectQueue(1, 1)

	again := e.dial()
	again.login(e, "p1") // takes over p1's slot at once
	old.expectKick(gamemesh.CodeKicked)
	waiting.heartbeatRoundTrip() // still queued, nothing else received
	if e.g.Online() != 1 || e.g.Queued() != 1 {
		t.Fatalf("online %d queued %d", e.g.Online(), e.g.Queued())
	}
}

func TestQueuedIdleTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.MaxOnline = 1; c.QueueIdleTimeout = 200 * time.Millisecond }, nil)
	c0 := e.dial()
	c0.login(e, "p0")
	alive, silent := e.dial(), e.dial()
	alive.sendLogin(e.ticket("p1"))
	alive.expectQueue(1, 1)
	silent.sendLogin(e.ticket("p2"))
	silent.expectQueue(2, 2)

	// Heartbeats keep a queued session well past its idle timeout.
	for range 8 {
		time.Sleep(50 * time.Millisecond)
		alive.heartbeatRoundTrip()
	}
	kick := silent.expectKick(gamemesh.CodeTimeout)
	if !contains(kick.Error, "queue") {
		t.Fatalf("message %q", kick.Error)
	}
	eventually(t, "queue place freed", func() bool { return e.g.Queued() == 1 })

	_ = c0.c.Close()
	if resp := alive.expectLogin(); resp.PlayerId != "p1" {
		t.Fatalf("admitted %s", resp.PlayerId)
	}
}

func TestQueuePositionResent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.MaxOnline = 1; c.QueueKeepAlive = time.Millisecond }, nil)
	c0 := e.dial()
	c0.login(e, "p0")
	q := e.dial()
	q.sendLogin(e.ticket("p1"))
	// The position does not change, yet it is told again and again.
	for range 3 {
		q.expectQueue(1, 1)
	}
}
