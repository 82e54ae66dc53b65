package mail_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	"github.com/gamemesh/gamemesh/functions/mail"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

func TestSweepDeletesExpiredMail(t *testing.T) {
	e := newEnv(t, mail.Config{DefaultExpiry: 2 * 24 * time.Hour, ExpiryShards: 4})
	ctx := functionstest.Context(t)
	sw := e.app.Sweeper(mail.SweeperConfig{})
	if _, err := sw.RunOnce(ctx); err != nil { // an empty store: nothing to do
		t.Fatal(err)
	}
	players := []gamemesh.PlayerID{e.newPlayer(t), e.newPlayer(t), e.newPlayer(t)}
	var old []string
	for _, p := range players {
		old = append(old, e.gift(t, p, "gold", 1), e.note(t, p, "old note"))
	}
	bid, err := e.broadcast(ctx, &gamev1.BroadcastMailRequest{Subject: "short-lived", RequestId: "sweep-bcast-01",
		ExpiresAtMs: e.clk.Now().Add(24 * time.Hour).UnixMilli()})
	if err != nil {
		t.Fatal(err)
	}
	e.ids(t, players[0]) // delivered to one box
	if n := keysWithPrefix(e.snapshot(), "mail/expiry/"); n == 0 {
		t.Fatal("no expiry bucket was written")
	}
	e.clk.Advance(24 * time.Hour)
	fresh := e.note(t, players[1], "fresh") // expires two days from now

	// Nothing is due before the day (and the grace) is over; the expired
	// broadcast leaves the index.
	st, err := sw.RunOnce(ctx)
	if err != nil || st.Mails != 0 || st.Broadcasts != 1 {
		t.Fatalf("early pass = %+v, %v", st, err)
	}
	e.clk.Advance(47 * time.Hour) // past the old mails' day and its grace; fresh lives another hour
	st, err = sw.RunOnce(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mails != len(old)+1 || st.Days != 2 {
		t.Fatalf("pass = %+v; want %d mails (%d old + the broadcast) over 2 days", st, len(old)+1, len(old))
	}
	snap := e.snapshot()
	for _, p := range players {
		raw := snap["mail/box/"+string(p)]
		for _, id := range append(old, bid) {
			if strings.Contains(raw, id) {
				t.Fatalf("box of %s still holds expired mail %s", p, id)
			}
		}
	}
	if !strings.Contains(snap["mail/box/"+string(players[1])], fresh) {
		t.Fatal("the sweep deleted live mail")
	}
	// The swept days' buckets are gone (the cursor and the fresh mail's
	// bucket are left); a pass finds nothing more to do.
	if n := keysWithPrefix(snap, "mail/expiry/"); n != 2 {
		t.Fatalf("%d expiry keys left, want the cursor and one bucket", n)
	}
	before := e.snapshot()
	st, err = sw.RunOnce(ctx)
	if err != nil || st.Mails != 0 || st.Boxes != 0 {
		t.Fatalf("second pass = %+v, %v", st, err)
	}
	e.unchanged(t, before)
	// The fresh mail's bucket is still there for its own day.
	e.clk.Advance(2 * 24 * time.Hour)
	if st, err = sw.RunOnce(ctx); err != nil || st.Mails != 1 {
		t.Fatalf("pass for the fresh mail = %+v, %v", st, err)
	}
	if keysWithPrefix(e.snapshot(), "mail/expiry/") != 1 { // only the cursor is left
		t.Fatalf("keys left: %v", e.snapshot())
	}
}

func TestSweepSurvivesStoreOutage(t *testing.T) {
	e := newEnv(t, mail.Config{DefaultExpiry: time.Hour, ExpiryShards: 2})
	ctx := functionstest.Context(t)
	sw := e.app.Sweeper(mail.SweeperConfig{})
	if _, err := sw.RunOnce(ctx); err != nil { // the cursor exists from here on
		t.Fatal(err)
	}
	p := e.newPlayer(t)
	old := e.gift(t, p, "gold", 1)
	e.clk.Advance(48 * time.Hour)
	e.store.FailWrites(1) // the purge of the box
	if _, err := sw.RunOnce(ctx); err == nil {
		t.Fatal("a pass with a failed write reported success")
	}
	if !strings.Contains(e.rawBox(t, p), old) || keysWithPrefix(e.snapshot(), "mail/expiry/") != 2 {
		t.Fatal("a failed pass lost its bucket or changed the box")
	}
	st, err := sw.RunOnce(ctx)
	if err != nil || st.Mails != 1 {
		t.Fatalf("pass after the outage = %+v, %v", st, err)
	}
	if strings.Contains(e.rawBox(t, p), old) {
		t.Fatal("expired mail left after the retried pass")
	}
}

// The sweeper runs as an owned job: Start, Stop, and no goroutine left
// (TestMain checks with goleak).
func TestSweeperStartStop(t *testing.T) {
	e := newEnv(t, mail.Config{DefaultExpiry: time.Hour})
	ctx := functionstest.Context(t)
	p := e.newPlayer(t)
	old := e.gift(t, p, "gold", 1)
	e.clk.Advance(48 * time.Hour)
	sw := e.app.Sweeper(mail.SweeperConfig{First: time.Millisecond, Every: 5 * time.Millisecond})
	if err := sw.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sw.Start(ctx); err == nil {
		t.Fatal("a second Start succeeded")
	}
	deadline := time.Now().Add(10 * time.Second)
	for strings.Contains(e.rawBox(t, p), old) {
		if time.Now().After(deadline) {
			t.Fatal("the running sweeper never swept")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := sw.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := sw.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}
