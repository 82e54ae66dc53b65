package player_test

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/embedded"
	"github.com/gamemesh/gamemesh/functions"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	"github.com/gamemesh/gamemesh/functions/login"
	"github.com/gamemesh/gamemesh/functions/mail"
	"github.com/gamemesh/gamemesh/functions/player"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// TestEmbeddedClaimRace runs login, mail and player on the embedded adapters
// (bbolt store, durable queue with asynchronous at-least-once delivery,
// in-process invoker): 100 concurrent claims of one mail and 20 concurrent
// applyGrants end with the items in the inventory exactly once.
func TestEmbeddedClaimRace(t *testing.T) {
	db, err := embedded.Open(filepath.Join(t.TempDir(), "mesh.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	reg := functions.NewRegistry()
	inv := embedded.NewInvoker(reg, nil)
	la, err := login.New(login.Config{Secret: testSecret}, login.Deps{Store: db.Store()})
	if err != nil {
		t.Fatal(err)
	}
	ma, err := mail.New(mail.Config{}, mail.Deps{Store: db.Store(), Invoker: inv, Publisher: db.Publisher()})
	if err != nil {
		t.Fatal(err)
	}
	pa, err := player.New(player.Config{}, player.Deps{Store: db.Store(), Invoker: inv})
	if err != nil {
		t.Fatal(err)
	}
	la.Register(reg)
	ma.Register(reg)
	pa.Register(reg)
	ctx := functionstest.Context(t)
	for _, s := range reg.Subscriptions() {
		if err := db.Subscribe(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	var acct gamev1.GuestLoginResponse
	if err := invoke(ctx, inv, "", "login", "guest", &gamev1.GuestLoginRequest{DeviceId: "embedded-device-1"}, &acct); err != nil {
		t.Fatal(err)
	}
	bob := gamemesh.PlayerID(acct.PlayerId)
	var sent gamev1.SendMailResponse
	if err := invoke(ctx, inv, "", "mail", "send", &gamev1.SendMailRequest{To: acct.PlayerId, Subject: "gift", RequestId: "embedded-gift-1",
		Attachments: []*gamev1.Item{{Id: "gold", Count: 5}}}, &sent); err != nil {
		t.Fatal(err)
	}

	var ok, done atomic.Int32
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			err := invoke(ctx, inv, bob, "mail", "claim", &gamev1.ClaimMailRequest{MailId: sent.MailId}, &gamev1.ClaimMailResponse{})
			switch gamemesh.CodeOf(err) {
			case gamemesh.CodeOK:
				ok.Add(1)
			case gamemesh.CodeAlreadyDone:
				done.Add(1)
			default:
				firstErr.CompareAndSwap(nil, err)
			}
		})
	}
	for range 20 {
		wg.Go(func() {
			err := invoke(ctx, inv, "", "player", "applyGrants", &gamev1.ApplyGrantsRequest{PlayerId: acct.PlayerId}, &gamev1.ApplyGrantsResponse{})
			if err != nil {
				firstErr.CompareAndSwap(nil, err)
			}
		})
	}
	wg.Wait()
	if err := firstErr.Load(); err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if ok.Load() != 1 || done.Load() != 99 {
		t.Fatalf("%d successes and %d ALREADY_DONE, want 1 and 99", ok.Load(), done.Load())
	}

	// The grant is applied by an applier or by the event; wait (bounded)
	// until nothing is pending, then check the inventory.
	for {
		var pending gamev1.PendingGrantsResponse
		if err := invoke(ctx, inv, "", "mail", "pendingGrants", &gamev1.PendingGrantsRequest{PlayerId: acct.PlayerId}, &pending); err != nil {
			t.Fatal(err)
		}
		if len(pending.Grants) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("grant still pending: %v", pending.Grants)
		case <-time.After(10 * time.Millisecond):
		}
	}
	var got gamev1.GetPlayerResponse
	if err := invoke(ctx, inv, bob, "player", "get", &gamev1.GetPlayerRequest{}, &got); err != nil {
		t.Fatal(err)
	}
	if got.Player.Inventory["gold"] != 5 || count(got.Player.AppliedGrants, "mail-"+sent.MailId) != 1 {
		t.Fatalf("record = %v, want 5 gold from one grant", got.Player)
	}
}

// invoke calls app.method through inv with a fresh request id.
func invoke(ctx context.Context, inv gamemesh.Invoker, p gamemesh.PlayerID, app, method string, in, out proto.Message) error {
	body, err := proto.Marshal(in)
	if err != nil {
		return err
	}
	resp, err := inv.Invoke(ctx, gamemesh.Request{App: app, Method: method, Player: p, ID: gamemesh.NewID(), Body: body})
	if err != nil {
		return err
	}
	return proto.Unmarshal(resp, out)
}
