package mail_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	"github.com/gamemesh/gamemesh/functions/mail"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

func TestClaimAll(t *testing.T) {
	e := newEnv(t, mail.Config{})
	ctx := functionstest.Context(t)
	bob := e.newPlayer(t)
	g1 := e.gift(t, bob, "gold", 10)
	e.note(t, bob, "words only")
	g2 := e.gift(t, bob, "gem", 2)
	done := e.gift(t, bob, "gold", 1000)
	if _, err := e.claim(ctx, bob, "", done); err != nil {
		t.Fatal(err)
	}
	g3 := e.gift(t, bob, "gold", 5)

	out, err := e.claimAll(ctx, bob, "claim-all-req-1")
	if err != nil {
		t.Fatal(err)
	}
	if !equal(out.MailIds, []string{g1, g2, g3}) || len(out.GrantIds) != 3 || out.GrantIds[0] != "mail-"+g1 {
		t.Fatalf("claimAll = %v", out)
	}
	if len(out.Items) != 2 || out.Items[0].Id != "gold" || out.Items[0].Count != 15 || out.Items[1].Id != "gem" || out.Items[1].Count != 2 {
		t.Fatalf("items = %v, want 15 gold and 2 gems", out.Items)
	}
	if g := e.pending(t, bob); len(g) != 4 { // the earlier claim's and these three
		t.Fatalf("%d pending grants, want 4", len(g))
	}
	// The same request retried answers the same; another finds nothing.
	before := e.snapshot()
	again, err := e.claimAll(ctx, bob, "claim-all-req-1")
	if err != nil || !equal(again.MailIds, out.MailIds) || again.Items[0].Count != 15 {
		t.Fatalf("retry = %v, %v", again, err)
	}
	other, err := e.claimAll(ctx, bob, "claim-all-req-2")
	if err != nil || len(other.MailIds) != 0 || len(other.Items) != 0 {
		t.Fatalf("second claimAll = %v, %v", other, err)
	}
	e.unchanged(t, before)
	// Every mail reads as claimed.
	l, _ := e.list(ctx, bob, "", 0)
	for _, m := range l.Mails {
		if len(m.Attachments) > 0 && !m.Claimed {
			t.Fatalf("mail %s still unclaimed", m.Id)
		}
	}
	// Services cannot claim for a player.
	_, err = e.claimAll(ctx, "", "")
	functionstest.WantCode(t, err, gamemesh.CodeNotLoggedIn)
}

// Claim-all spammed from two connections (each its own request ids), mixed
// with single claims: each attachment is granted once.
func TestClaimAllSpammedFromTwoConnections(t *testing.T) {
	testClaimAllSpam(t, newEnv(t, mail.Config{}))
}

func TestEmbeddedClaimAllSpammedFromTwoConnections(t *testing.T) {
	testClaimAllSpam(t, newEmbeddedEnv(t, mail.Config{}))
}

func testClaimAllSpam(t *testing.T, e *env) {
	ctx := functionstest.Context(t)
	bob := e.newPlayer(t)
	const gifts = 12
	var ids []string
	for i := range gifts {
		ids = append(ids, e.gift(t, bob, "gold", int64(i+1)))
	}
	if _, err := e.broadcast(ctx, &gamev1.BroadcastMailRequest{Subject: "to all", Attachments: gold(100), RequestId: "spam-bcast-001"}); err != nil {
		t.Fatal(err)
	}
	var claimedGold atomic.Int64
	var wg sync.WaitGroup
	fail := make(chan error, 1)
	for conn := range 2 {
		wg.Go(func() {
			for i := range 40 {
				id := fmt.Sprintf("conn-%d-seq-%d", conn, i) // what a gate derives from session and sequence
				if i%5 == 4 {
					c, err := e.claim(ctx, bob, id, ids[i%gifts])
					switch gamemesh.CodeOf(err) {
					case gamemesh.CodeOK:
						claimedGold.Add(c.Items[0].Count)
					case gamemesh.CodeAlreadyDone:
					default:
						select {
						case fail <- err:
						default:
						}
					}
					continue
				}
				out, err := e.claimAll(ctx, bob, id)
				if err != nil {
					select {
					case fail <- err:
					default:
					}
					return
				}
				for _, it := range out.Items {
					claimedGold.Add(it.Count)
				}
			}
		})
	}
	wg.Wait()
	select {
	case err := <-fail:
		t.Fatal(err)
	default:
	}
	want := int64(gifts*(gifts+1)/2 + 100)
	if got := claimedGold.Load(); got != want {
		t.Fatalf("answers granted %d gold in all, want %d", got, want)
	}
	grants := e.pending(t, bob)
	seen := map[string]bool{}
	var total int64
	for _, g := range grants {
		if seen[g.Id] {
			t.Fatalf("grant %s queued twice", g.Id)
		}
		seen[g.Id] = true
		total += g.Items[0].Count
	}
	if len(grants) != gifts+1 || total != want {
		t.Fatalf("%d grants holding %d gold; want %d holding %d", len(grants), total, gifts+1, want)
	}
}

func TestClaimAllRetryAfterLostAnswer(t *testing.T) {
	e := newEnv(t, mail.Config{})
	ctx := functionstest.Context(t)
	bob := e.newPlayer(t)
	e.gift(t, bob, "gold", 3)
	e.gift(t, bob, "gem", 4)
	e.store.LoseAcks(1)
	_, err := e.claimAll(ctx, bob, "lost-claim-all")
	functionstest.WantCode(t, err, gamemesh.CodeUnavailable)
	e.gift(t, bob, "gold", 100) // arrives between the attempt and its retry
	out, err := e.claimAll(ctx, bob, "lost-claim-all")
	if err != nil || len(out.MailIds) != 2 || out.Items[0].Count != 3 {
		t.Fatalf("retry = %v, %v; want the first attempt's two mails", out, err)
	}
	if g := e.pending(t, bob); len(g) != 2 {
		t.Fatalf("%d pending grants, want 2", len(g))
	}
	// The store down: nothing changes.
	before := e.snapshot()
	e.store.SetDown(true)
	_, err = e.claimAll(ctx, bob, "")
	functionstest.WantCode(t, err, gamemesh.CodeUnavailable)
	e.store.SetDown(false)
	e.unchanged(t, before)
}

func TestClaimAllSkipsExpiredAndBoundsPendingGrants(t *testing.T) {
	e := newEnv(t, mail.Config{DefaultExpiry: time.Hour, MaxPendingGrants: 2})
	ctx := functionstest.Context(t)
	bob := e.newPlayer(t)
	old := e.gift(t, bob, "gold", 1)
	e.clk.Advance(59 * time.Minute)
	a, b, c := e.gift(t, bob, "gold", 2), e.gift(t, bob, "gold", 3), e.gift(t, bob, "gold", 4)
	e.clk.Advance(time.Minute) // old expires
	out, err := e.claimAll(ctx, bob, "")
	if err != nil || !equal(out.MailIds, []string{a, b}) {
		t.Fatalf("claimAll = %v, %v; want the two that fit, not the expired %s", out, err, old)
	}
	_, err = e.claimAll(ctx, bob, "")
	functionstest.WantCode(t, err, gamemesh.CodeLimitReached)
	_, err = e.claim(ctx, bob, "", c)
	functionstest.WantCode(t, err, gamemesh.CodeLimitReached)
	// Once the inventory owner applied them, the rest follows.
	var ids []string
	for _, g := range e.pending(t, bob) {
		ids = append(ids, g.Id)
	}
	if err := e.call(ctx, "", "", "ackGrants", &gamev1.AckGrantsRequest{PlayerId: string(bob), GrantIds: ids}, &gamev1.AckGrantsResponse{}); err != nil {
		t.Fatal(err)
	}
	out, err = e.claimAll(ctx, bob, "")
	if err != nil || !equal(out.MailIds, []string{c}) {
		t.Fatalf("claimAll after ack = %v, %v", out, err)
	}
}

// 1 000 concurrent claims of one mail: one grant (the map store here; the
// embedded and Dapr variants below and in integration/).
func TestThousandConcurrentClaims(t *testing.T) {
	testThousandClaims(t, newEnv(t, mail.Config{}))
}

func TestEmbeddedThousandConcurrentClaims(t *testing.T) {
	testThousandClaims(t, newEmbeddedEnv(t, mail.Config{}))
}

func testThousandClaims(t *testing.T, e *env) {
	ctx := functionstest.Context(t)
	bob := e.newPlayer(t)
	id := e.gift(t, bob, "gem", 1)
	const n = 1000
	var ok, done, other atomic.Int32
	var firstOther atomic.Value
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, err := e.claim(ctx, bob, "", id)
			switch gamemesh.CodeOf(err) {
			case gamemesh.CodeOK:
				ok.Add(1)
			case gamemesh.CodeAlreadyDone:
				done.Add(1)
			default:
				other.Add(1)
				firstOther.CompareAndSwap(nil, err)
			}
		})
	}
	wg.Wait()
	// Under this much contention some claims may give up busy (CONFLICT,
	// "retry"): never a second grant.
	if err, _ := firstOther.Load().(error); err != nil && gamemesh.CodeOf(err) != gamemesh.CodeConflict {
		t.Fatalf("unexpected answer: %v", err)
	}
	if ok.Load() != 1 {
		t.Fatalf("%d claims succeeded (%d ALREADY_DONE, %d busy), want exactly 1", ok.Load(), done.Load(), other.Load())
	}
	if g := e.pending(t, bob); len(g) != 1 {
		t.Fatalf("%d pending grants, want 1", len(g))
	}
	t.Logf("1000 claims: 1 OK, %d ALREADY_DONE, %d busy", done.Load(), other.Load())
}
