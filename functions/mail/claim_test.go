package mail_test

import (
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	"github.com/gamemesh/gamemesh/functions/mail"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

func TestClaimOnce(t *testing.T) {
	e := newEnv(t, mail.Config{})
	ctx := functionstest.Context(t)
	bob := e.newPlayer(t)
	id := e.gift(t, bob, "gold", 7)
	got, err := e.claim(ctx, bob, "", id)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Items) != 1 || got.Items[0].Id != "gold" || got.Items[0].Count != 7 || got.GrantId != "mail-"+id {
		t.Fatalf("claim = %v", got)
	}
	grants := e.pending(t, bob)
	if len(grants) != 1 || grants[0].Id != got.GrantId || grants[0].PlayerId != string(bob) || grants[0].Source != "mail" || grants[0].Items[0].Count != 7 {
		t.Fatalf("pending = %v", grants)
	}
	evs := e.bus.Published()
	if len(evs) != 1 || evs[0].Topic != mail.GrantsTopic || evs[0].ID != got.GrantId {
		t.Fatalf("events = %+v", evs)
	}
	var ev gamev1.GrantsPendingEvent
	if err := proto.Unmarshal(evs[0].Data, &ev); err != nil || ev.PlayerId != string(bob) {
		t.Fatalf("event = %v, %v", &ev, err)
	}
	out, _ := e.list(ctx, bob, "", 0)
	if !out.Mails[0].Claimed || !out.Mails[0].Read {
		t.Fatalf("claimed mail listed as %v", out.Mails[0])
	}
	before := e.mem.Snapshot()
	_, err = e.claim(ctx, bob, "", id)
	functionstest.WantCode(t, err, gamemesh.CodeAlreadyDone)
	functionstest.WantSame(t, before, e.mem.Snapshot())
}

func TestClaimConcurrent(t *testing.T) {
	e := newEnv(t, mail.Config{})
	ctx := functionstest.Context(t)
	bob := e.newPlayer(t)
	id := e.gift(t, bob, "gold", 5)
	const n = 100
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { _, errs[i] = e.claim(ctx, bob, "", id) })
	}
	wg.Wait()
	ok, done := 0, 0
	for _, err := range errs {
		switch gamemesh.CodeOf(err) {
		case gamemesh.CodeOK:
			ok++
		case gamemesh.CodeAlreadyDone:
			done++
		default:
			t.Fatalf("claim failed: %v", err)
		}
	}
	if ok != 1 || done != n-1 {
		t.Fatalf("%d successes and %d ALREADY_DONE, want 1 and %d", ok, done, n-1)
	}
	if g := e.pending(t, bob); len(g) != 1 {
		t.Fatalf("%d pending grants, want 1", len(g))
	}
}

func TestClaimRefusals(t *testing.T) {
	e := newEnv(t, mail.Config{})
	ctx := functionstest.Context(t)
	alice, bob := e.newPlayer(t), e.newPlayer(t)
	gift := e.gift(t, alice, "gold", 3)
	note := e.note(t, alice, "just words")
	before := e.mem.Snapshot()

	// Someone else's mail is not found (its existence is not revealed).
	_, err := e.claim(ctx, bob, "", gift)
	functionstest.WantCode(t, err, gamemesh.CodeNotFound)
	err = functionstest.CallAs(ctx, e.reg, bob, "", "mail", "read", &gamev1.ReadMailRequest{MailId: gift}, &gamev1.ReadMailResponse{})
	functionstest.WantCode(t, err, gamemesh.CodeNotFound)
	_, err = e.claim(ctx, alice, "", "mnosuchmail")
	functionstest.WantCode(t, err, gamemesh.CodeNotFound)
	_, err = e.claim(ctx, alice, "", "../../etc")
	functionstest.WantCode(t, err, gamemesh.CodeNotFound)
	_, err = e.claim(ctx, alice, "", note)
	functionstest.WantCode(t, err, gamemesh.CodeInvalidArgument)
	if gamemesh.MessageOf(err) != "nothing to claim" {
		t.Fatalf("message %q", gamemesh.MessageOf(err))
	}
	// A service call without a player is refused.
	_, err = e.claim(ctx, "", "", gift)
	functionstest.WantCode(t, err, gamemesh.CodeNotLoggedIn)
	// Players cannot reach the grant methods.
	err = functionstest.CallAs(ctx, e.reg, alice, "", "mail", "ackGrants", &gamev1.AckGrantsRequest{PlayerId: string(alice)}, &gamev1.AckGrantsResponse{})
	functionstest.WantCode(t, err, gamemesh.CodeUnknownRoute)
	err = functionstest.CallAs(ctx, e.reg, alice, "", "mail", "pendingGrants", &gamev1.PendingGrantsRequest{PlayerId: string(alice)}, &gamev1.PendingGrantsResponse{})
	functionstest.WantCode(t, err, gamemesh.CodeUnknownRoute)

	functionstest.WantSame(t, before, e.mem.Snapshot())
	if len(e.bus.Published()) != 0 {
		t.Fatal("a refused claim published an event")
	}
}

func TestClaimStoreOutageThenRetry(t *testing.T) {
	e := newEnv(t, mail.Config{})
	ctx := functionstest.Context(t)
	bob := e.newPlayer(t)
	id := e.gift(t, bob, "gold", 9)
	before := e.mem.Snapshot()

	e.store.SetDown(true)
	_, err := e.claim(ctx, bob, "claim-req-1", id)
	functionstest.WantCode(t, err, gamemesh.CodeUnavailable)
	e.store.SetDown(false)
	functionstest.WantSame(t, before, e.mem.Snapshot())

	// The write lands but its answer is lost; the same request retried gets
	// the same success, any other claim gets ALREADY_DONE, one grant in all.
	e.store.LoseAcks(1)
	_, err = e.claim(ctx, bob, "claim-req-1", id)
	functionstest.WantCode(t, err, gamemesh.CodeUnavailable)
	got, err := e.claim(ctx, bob, "claim-req-1", id)
	if err != nil {
		t.Fatalf("retry of the same claim: %v", err)
	}
	if got.GrantId != "mail-"+id || got.Items[0].Count != 9 {
		t.Fatalf("retry answered %v", got)
	}
	_, err = e.claim(ctx, bob, "claim-req-2", id)
	functionstest.WantCode(t, err, gamemesh.CodeAlreadyDone)
	if g := e.pending(t, bob); len(g) != 1 {
		t.Fatalf("%d pending grants, want 1", len(g))
	}
}

func TestAckGrants(t *testing.T) {
	e := newEnv(t, mail.Config{})
	ctx := functionstest.Context(t)
	bob := e.newPlayer(t)
	a, _ := e.claim(ctx, bob, "", e.gift(t, bob, "gold", 1))
	b, _ := e.claim(ctx, bob, "", e.gift(t, bob, "gem", 2))
	ack := func(ids ...string) error {
		return functionstest.CallAs(ctx, e.reg, "", "", "mail", "ackGrants", &gamev1.AckGrantsRequest{PlayerId: string(bob), GrantIds: ids}, &gamev1.AckGrantsResponse{})
	}
	if err := ack(a.GrantId, "mail-unknown"); err != nil {
		t.Fatal(err)
	}
	if g := e.pending(t, bob); len(g) != 1 || g[0].Id != b.GrantId {
		t.Fatalf("pending after ack = %v", g)
	}
	if err := ack(a.GrantId); err != nil { // again: fine
		t.Fatal(err)
	}
	if err := ack(b.GrantId); err != nil {
		t.Fatal(err)
	}
	if g := e.pending(t, bob); len(g) != 0 {
		t.Fatalf("pending after acks = %v", g)
	}
	functionstest.WantCode(t, functionstest.CallAs(ctx, e.reg, "", "", "mail", "ackGrants", &gamev1.AckGrantsRequest{PlayerId: "Bad Id"}, &gamev1.AckGrantsResponse{}), gamemesh.CodeInvalidArgument)
	functionstest.WantCode(t, functionstest.CallAs(ctx, e.reg, "", "", "mail", "pendingGrants", &gamev1.PendingGrantsRequest{}, &gamev1.PendingGrantsResponse{}), gamemesh.CodeInvalidArgument)
}
