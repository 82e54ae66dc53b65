package scenehost_test

import (
	"context"
	"os"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	"github.com/gamemesh/gamemesh/functions/player"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/scenehost"
)

// A scene host killed (no flush, no checkin, no release): its players are
// told (scene.lost), the city's claim lapses, the other host claims it, and
// the gate puts them back in the city there without dropping their
// connection; what was saved before the kill is there.
func TestKilledHostPlayersContinueElsewhere(t *testing.T) {
	w := newWorld(t)
	cfg1, cfg2 := hostConfig("host-1"), hostConfig("host-2")
	cfg1.ClaimTTL, cfg2.ClaimTTL = 1500*time.Millisecond, 1500*time.Millisecond // a loaded machine must not lose claims by stalling
	w.addHost(cfg1, 200*time.Millisecond)
	p := w.newPlayer()
	p.enter(scenehost.CityName)
	w.addHost(cfg2, 200*time.Millisecond) // a standby: the city is host-1's
	item := p.hunt()
	eventually(t, "the pickup saved", func() bool { return w.record(p.id).Inventory[item] > 0 })
	saved := w.record(p.id)
	holder, other := saved.Lease.GetHolder(), map[string]string{"host-1": "host-2", "host-2": "host-1"}[saved.Lease.GetHolder()]
	if other == "" {
		t.Fatalf("lease before the kill: %v", saved.Lease)
	}

	killedAt := time.Now()
	w.kill(holder)
	p.await("scene.lost", func(_ *tplayer, route string) bool { return route == "scene.lost" })
	p.enter(scenehost.CityName)
	recovered := time.Since(killedAt)
	must(t, p.move(201, 200))
	rec := w.record(p.id)
	if rec.Lease.GetHolder() != other || rec.Lease.GetEpoch() <= saved.Lease.GetEpoch() {
		t.Fatalf("lease after the takeover: %v (before: %v)", rec.Lease, saved.Lease)
	}
	if rec.Inventory[item] < saved.Inventory[item] || rec.Level < saved.Level {
		t.Fatalf("saved progress lost: %v, saved %v", rec, saved)
	}
	select {
	case <-p.conn.Done():
		t.Fatalf("the connection was dropped: %v", p.conn.Err())
	default:
	}
	t.Logf("host killed → back in the city on the other host in %v (claim TTL 1.5 s)", recovered)
}

// The store unreachable (60 s with GAMEMESH_STORE_OUTAGE=60s, 3 s by
// default): play goes on, saves are kept and retried, and once the store is
// back every change is in it, including a logout made during the outage.
func TestStoreOutagePlayContinues(t *testing.T) {
	outage := 3 * time.Second
	if v := os.Getenv("GAMEMESH_STORE_OUTAGE"); v != "" {
		d, err := time.ParseDuration(v)
		must(t, err)
		outage = d
	}
	w := newWorld(t)
	w.addHost(hostConfig("host-1"), 200*time.Millisecond)
	p, q := w.newPlayer(), w.newPlayer()
	p.enter(scenehost.CityName)
	q.enter(scenehost.CityName)

	w.store.SetDown(true)
	start := time.Now()
	item := p.hunt() // moves, casts, a kill and a pickup while the store is down
	must(t, q.move(201, 201))
	_ = q.conn.Close() // a logout: its checkin waits for the store
	moved := 0
	for i := 0; time.Since(start) < outage || moved < 3; i++ {
		if i > 300 {
			t.Fatalf("only %d moves accepted in %d tries during the outage", moved, i)
		}
		// The wolves around may kill p meanwhile: a dead player's moves are
		// refused until it respawns, which is play going on too.
		err := p.move(195+float32(i%2), 195)
		switch gamemesh.CodeOf(err) {
		case gamemesh.CodeOK:
			moved++
		case gamemesh.CodeInvalidArgument:
		default:
			t.Fatalf("move during the outage: %v", err)
		}
		p.drain(200 * time.Millisecond)
	}
	if w.record(p.id).Inventory[item] != 0 {
		t.Fatal("the store took a write while down")
	}
	w.store.SetDown(false)
	eventually(t, "the pickup saved after the outage", func() bool { return w.record(p.id).Inventory[item] > 0 })
	eventually(t, "the logout saved after the outage", func() bool {
		rec := w.record(q.id)
		return rec.Lease.GetHolder() == "" && rec.Lease.GetSeq() > 0
	})
	t.Logf("played %v with the store down", time.Since(start).Round(time.Millisecond))
}

// Grants from mail while the player is online are applied by the holding
// host, once each by grant id, saved, then acknowledged.
func TestGrantsWhileOnlineAppliedByTheHost(t *testing.T) {
	w := newWorld(t)
	w.addHost(hostConfig("host-1"), time.Hour) // no periodic flush: only the grant saves
	p := w.newPlayer()
	p.enter(scenehost.CityName)
	ctx := context.Background()
	var sent gamev1.SendMailResponse
	must(t, functionstest.CallAs(ctx, w.reg, "", "", "mail", "send", &gamev1.SendMailRequest{To: string(p.id), Subject: "gift",
		RequestId: gamemesh.NewID(), Attachments: []*gamev1.Item{{Id: "gem", Count: 3}}}, &sent))
	var claimed gamev1.ClaimMailResponse
	must(t, functionstest.CallAs(ctx, w.reg, p.id, "", "mail", "claim", &gamev1.ClaimMailRequest{MailId: sent.MailId}, &claimed))
	// player.get goes to the holding host, which applies pending grants first.
	var got gamev1.GetPlayerResponse
	must(t, p.call("player.get", &gamev1.GetPlayerRequest{}, &got))
	if got.Player.Inventory["gem"] != 3 || got.Player.PlayerId != string(p.id) || got.Player.CreatedAtMs == 0 {
		t.Fatalf("player.get while online = %v", got.Player)
	}
	eventually(t, "the grant saved by the host", func() bool { return w.record(p.id).Inventory["gem"] == 3 })
	eventually(t, "the grant acknowledged", func() bool {
		var pending gamev1.PendingGrantsResponse
		must(t, functionstest.CallAs(ctx, w.reg, "", "", "mail", "pendingGrants", &gamev1.PendingGrantsRequest{PlayerId: string(p.id)}, &pending))
		return len(pending.Grants) == 0
	})
	if rec := w.record(p.id); rec.Lease.GetHolder() != "host-1" {
		t.Fatalf("the player app took the record: %v", rec.Lease)
	}
	// A redelivered notice applies nothing twice.
	data, _ := proto.Marshal(&gamev1.GrantsPendingEvent{PlayerId: string(p.id)})
	must(t, w.bus.Publish(ctx, player.HostGrantsTopic("host-1"), gamemesh.Event{ID: "again", Data: data}))
	time.Sleep(300 * time.Millisecond)
	_ = p.conn.Close()
	eventually(t, "logout", func() bool { return w.record(p.id).Lease.GetHolder() == "" })
	if rec := w.record(p.id); rec.Inventory["gem"] != 3 || count(rec.AppliedGrants, claimed.GrantId) != 1 {
		t.Fatalf("record after logout: %v", rec)
	}
}

func count(ids []string, id string) int {
	n := 0
	for _, x := range ids {
		if x == id {
			n++
		}
	}
	return n
}
