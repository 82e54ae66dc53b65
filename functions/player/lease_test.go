package player_test

import (
	"context"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	"github.com/gamemesh/gamemesh/functions/login"
	"github.com/gamemesh/gamemesh/functions/mail"
	"github.com/gamemesh/gamemesh/functions/player"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

type leaseEnv struct {
	*env
	clk *functionstest.Clock
}

// newLeaseEnv is newEnv with the clock exposed and grant notices forwarded
// on the bus (which delivers synchronously).
func newLeaseEnv(t *testing.T) *leaseEnv {
	t.Helper()
	clk := functionstest.NewClock()
	mem := functionstest.NewMemStore(clk.Now)
	reg := functions.NewRegistry()
	e := &env{reg: reg, mem: mem, mailStore: &functionstest.FaultyStore{Store: mem}, recStore: &functionstest.FaultyStore{Store: mem},
		inv: &flakyInvoker{inner: functionstest.Invoker{Registry: reg}, fails: map[string]int{}}, bus: &functionstest.Bus{Registry: reg}}
	la, err := login.New(login.Config{Secret: testSecret}, login.Deps{Store: mem, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	la.Register(reg)
	ma, err := mail.New(mail.Config{}, mail.Deps{Store: e.mailStore, Invoker: e.inv, Publisher: e.bus, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ma.Register(reg)
	pa, err := player.New(player.Config{}, player.Deps{Store: e.recStore, Invoker: e.inv, Publisher: e.bus, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	pa.Register(reg)
	return &leaseEnv{env: e, clk: clk}
}

func (e *leaseEnv) checkout(ctx context.Context, p gamemesh.PlayerID, host, req string) (*gamev1.CheckoutPlayerResponse, error) {
	out := new(gamev1.CheckoutPlayerResponse)
	err := functionstest.CallAs(ctx, e.reg, "", "", "player", "checkout", &gamev1.CheckoutPlayerRequest{PlayerId: string(p), HostId: host, RequestId: req}, out)
	return out, err
}

func (e *leaseEnv) save(ctx context.Context, method string, p gamemesh.PlayerID, host string, epoch, seq uint64, gold int64) (*gamev1.SavePlayerResponse, error) {
	out := new(gamev1.SavePlayerResponse)
	err := functionstest.CallAs(ctx, e.reg, "", "", "player", method, &gamev1.SavePlayerRequest{PlayerId: string(p), HostId: host, Epoch: epoch, Seq: seq,
		State: &gamev1.PlayerState{Level: 3, Xp: 7, Inventory: map[string]int64{"gold": gold}}}, out)
	return out, err
}

func TestLeaseFencesStaleHosts(t *testing.T) {
	e := newLeaseEnv(t)
	ctx := functionstest.Context(t)
	bob := e.newPlayer(t)

	a, err := e.checkout(ctx, bob, "host-a", "r1")
	if err != nil || a.Epoch != 1 || a.Player.Level != 1 {
		t.Fatalf("checkout = %v, %v", a, err)
	}
	again, err := e.checkout(ctx, bob, "host-a", "r1") // a retry answers the same epoch
	if err != nil || again.Epoch != 1 {
		t.Fatalf("retried checkout = %v, %v", again, err)
	}
	if _, err := e.save(ctx, "save", bob, "host-a", 1, 1, 10); err != nil {
		t.Fatal(err)
	}
	// A retried (or reordered) older save changes nothing.
	if r, err := e.save(ctx, "save", bob, "host-a", 1, 1, 99); err != nil || !r.AlreadyDone {
		t.Fatalf("older save = %v, %v", r, err)
	}
	// host-b takes over (the gate gave up on host-a): host-a is fenced out.
	b, err := e.checkout(ctx, bob, "host-b", "r2")
	if err != nil || b.Epoch != 2 || b.Player.Inventory["gold"] != 10 || b.Player.Level != 3 {
		t.Fatalf("takeover = %v, %v", b, err)
	}
	_, err = e.save(ctx, "save", bob, "host-a", 1, 2, 1000)
	functionstest.WantCode(t, err, gamemesh.CodePermissionDenied)
	_, err = e.save(ctx, "checkin", bob, "host-a", 2, 5, 1000) // right epoch, wrong host
	functionstest.WantCode(t, err, gamemesh.CodePermissionDenied)

	if _, err := e.save(ctx, "checkin", bob, "host-b", 2, 1, 20); err != nil {
		t.Fatal(err)
	}
	if r, err := e.save(ctx, "checkin", bob, "host-b", 2, 1, 20); err != nil || !r.AlreadyDone { // retried checkin
		t.Fatalf("retried checkin = %v, %v", r, err)
	}
	_, err = e.save(ctx, "save", bob, "host-b", 2, 2, 30) // after checkin the lease is free
	functionstest.WantCode(t, err, gamemesh.CodePermissionDenied)
	rec, err := e.get(ctx, bob)
	if err != nil || rec.Inventory["gold"] != 20 || rec.Lease.GetHolder() != "" {
		t.Fatalf("record = %v, %v", rec, err)
	}
}

func TestLeaseBadInput(t *testing.T) {
	e := newLeaseEnv(t)
	ctx := functionstest.Context(t)
	bob := e.newPlayer(t)
	_, err := e.checkout(ctx, bob, "Bad Host", "r1")
	functionstest.WantCode(t, err, gamemesh.CodeInvalidArgument)
	_, err = e.checkout(ctx, bob, "host-a", "")
	functionstest.WantCode(t, err, gamemesh.CodeInvalidArgument)
	if _, err := e.checkout(ctx, bob, "host-a", "r1"); err != nil {
		t.Fatal(err)
	}
	for name, st := range map[string]*gamev1.PlayerState{
		"no state":       nil,
		"level 0":        {Level: 0},
		"negative xp":    {Level: 1, Xp: -1},
		"negative count": {Level: 1, Inventory: map[string]int64{"gold": -1}},
		"bad item":       {Level: 1, Inventory: map[string]int64{"Bad Item": 1}},
	} {
		err := functionstest.CallAs(ctx, e.reg, "", "", "player", "save", &gamev1.SavePlayerRequest{PlayerId: string(bob), HostId: "host-a", Epoch: 1, Seq: 1, State: st}, &gamev1.SavePlayerResponse{})
		if gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
			t.Errorf("%s: %v, want INVALID_ARGUMENT", name, err)
		}
	}
	_, err = e.save(ctx, "save", bob, "host-a", 1, 0, 1)
	functionstest.WantCode(t, err, gamemesh.CodeInvalidArgument)
	// Players cannot reach these methods.
	err = functionstest.CallAs(ctx, e.reg, bob, "", "player", "checkout", &gamev1.CheckoutPlayerRequest{PlayerId: string(bob), HostId: "host-a", RequestId: "x"}, &gamev1.CheckoutPlayerResponse{})
	functionstest.WantCode(t, err, gamemesh.CodeUnknownRoute)
	rec, err := e.get(ctx, bob)
	if err != nil || rec.Level != 1 || len(rec.Inventory) != 0 {
		t.Fatalf("bad input changed the record: %v, %v", rec, err)
	}
}

// While a host holds the player, the player app applies no grant: it
// forwards the notice to the host's topic. A lapsed lease is fenced and the
// grant applied; the lapsed holder's late save is refused.
func TestGrantsWhileHeld(t *testing.T) {
	e := newLeaseEnv(t)
	ctx := functionstest.Context(t)
	bob := e.newPlayer(t)
	co, err := e.checkout(ctx, bob, "host-a", "r1")
	if err != nil {
		t.Fatal(err)
	}
	grant := e.giftAndClaim(t, bob, "gold", 5)
	rec, err := e.get(ctx, bob)
	if err != nil || rec.Inventory["gold"] != 0 {
		t.Fatalf("the player app applied a grant of a held player: %v, %v", rec, err)
	}
	forwarded := 0
	for _, ev := range e.bus.Published() {
		if ev.Topic == player.HostGrantsTopic("host-a") {
			forwarded++
		}
	}
	if forwarded == 0 {
		t.Fatalf("no notice on %s: %v", player.HostGrantsTopic("host-a"), e.bus.Published())
	}
	if len(e.pending(t, bob)) != 1 {
		t.Fatal("the grant must stay pending for the host")
	}

	e.clk.Advance(player.DefaultLease + time.Second) // host-a died without checking in
	rec, err = e.get(ctx, bob)
	if err != nil || rec.Inventory["gold"] != 5 || count(rec.AppliedGrants, grant) != 1 || rec.Lease.GetEpoch() != co.Epoch+1 {
		t.Fatalf("after the lease lapsed: %v, %v", rec, err)
	}
	_, err = e.save(ctx, "save", bob, "host-a", co.Epoch, 1, 0)
	functionstest.WantCode(t, err, gamemesh.CodePermissionDenied)
	rec, _ = e.get(ctx, bob)
	if rec.Inventory["gold"] != 5 {
		t.Fatalf("a fenced host overwrote the record: %v", rec)
	}
}
