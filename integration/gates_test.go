//go:build integration

package integration

import (
	"context"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/client"
	gmsystem "github.com/gamemesh/gamemesh/internal/system"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// TestTwoDaprGatesShareTheDirectory runs two `gamemesh gate` compositions
// (each behind its own daprd) and the functions on one Redis: the go-redis
// online directory is shared, so a login on gate 2 kicks the player's
// session on gate 1, and a function's push reaches the gate the player is on.
func TestTwoDaprGatesShareTheDirectory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := startCluster(t, StartRedis(t), clusterOptions{Gates: 2})
	g1, g2 := c.gates[0], c.gates[1]

	login := func(g *gmsystem.DaprGate, device string, pushes chan<- string) *client.Conn {
		t.Helper()
		var tk client.GuestTicket
		var err error
		for range 50 { // the sidecars may still be warming up their routes
			if tk, err = client.GuestLogin(ctx, "http://"+g.Gate().HTTPAddr(), device); err == nil {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("guest login on %s: %v", g.Gate().Addr(), err)
		}
		c, err := client.Dial(ctx, "tcp://"+g.Gate().Addr(), tk.Ticket, client.Options{OnPush: func(route string, _ []byte) {
			if pushes != nil {
				pushes <- route
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}

	// A duplicate login on gate 2 kicks the session on gate 1.
	first := login(g1, "device-dup-0001", nil)
	second := login(g2, "device-dup-0001", nil)
	if first.PlayerID() != second.PlayerID() {
		t.Fatalf("one device, two players: %s %s", first.PlayerID(), second.PlayerID())
	}
	select {
	case <-first.Done():
		if gamemesh.CodeOf(first.Err()) != gamemesh.CodeKicked {
			t.Fatalf("older session ended with %v, want KICKED", first.Err())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the session on gate 1 was not kicked by the login on gate 2")
	}
	if _, err := second.CallRaw(ctx, "achievement.list", nil); err != nil {
		t.Fatalf("the newer session: %v", err)
	}

	// A push from a function reaches the gate the player is on: a mail from
	// a player on gate 1 to one on gate 2, and back.
	pa, pb := make(chan string, 16), make(chan string, 16)
	a := login(g1, "device-mail-0001", pa)
	b := login(g2, "device-mail-0002", pb)
	send := func(from *client.Conn, to gamemesh.PlayerID) {
		t.Helper()
		err := from.Call(ctx, "mail.send", &gamev1.SendMailRequest{To: string(to), Subject: "hi", Body: "across gates",
			RequestId: gamemesh.NewID()}, &gamev1.SendMailResponse{})
		if err != nil {
			t.Fatalf("mail.send: %v", err)
		}
	}
	waitPush := func(ch <-chan string, who string) {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			select {
			case r := <-ch:
				if r == "mail.new" {
					return
				}
			case <-deadline:
				t.Fatalf("no mail.new push reached %s", who)
			}
		}
	}
	send(a, b.PlayerID())
	waitPush(pb, "the player on gate 2")
	send(b, a.PlayerID())
	waitPush(pa, "the player on gate 1")
}
