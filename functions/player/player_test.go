package player_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	"github.com/gamemesh/gamemesh/functions/login"
	"github.com/gamemesh/gamemesh/functions/mail"
	"github.com/gamemesh/gamemesh/functions/player"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testSecret signs login tickets in these tests only.
var testSecret = []byte("0123456789abcdef0123456789abcdef-test-only")

// flakyInvoker fails the next fails[method] calls of a method with UNAVAILABLE.
type flakyInvoker struct {
	inner gamemesh.Invoker
	mu    sync.Mutex
	fails map[string]int
}

func (f *flakyInvoker) failNext(method string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fails[method] = n
}

func (f *flakyInvoker) Invoke(ctx context.Context, req gamemesh.Request) ([]byte, error) {
	f.mu.Lock()
	key := req.App + "." + req.Method
	fail := f.fails[key] > 0
	if fail {
		f.fails[key]--
	}
	f.mu.Unlock()
	if fail {
		return nil, gamemesh.Errorf(gamemesh.CodeUnavailable, "%s down (test)", key)
	}
	return f.inner.Invoke(ctx, req)
}

type env struct {
	reg       *functions.Registry
	mem       *functionstest.MemStore
	mailStore *functionstest.FaultyStore
	recStore  *functionstest.FaultyStore
	inv       *flakyInvoker
	bus       *functionstest.Bus
	ndev      int
}

// newEnv wires login, mail and player on one in-memory store. With deliver,
// published events reach the player subscription synchronously.
func newEnv(t *testing.T, cfg player.Config, deliver bool) *env {
	t.Helper()
	clk := functionstest.NewClock()
	mem := functionstest.NewMemStore(clk.Now)
	reg := functions.NewRegistry()
	e := &env{reg: reg, mem: mem, mailStore: &functionstest.FaultyStore{Store: mem}, recStore: &functionstest.FaultyStore{Store: mem},
		inv: &flakyInvoker{inner: functionstest.Invoker{Registry: reg}, fails: map[string]int{}}, bus: &functionstest.Bus{}}
	if deliver {
		e.bus.Registry = reg
	}
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
	pa, err := player.New(cfg, player.Deps{Store: e.recStore, Invoker: e.inv, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	pa.Register(reg)
	return e
}

func (e *env) newPlayer(t *testing.T) gamemesh.PlayerID {
	t.Helper()
	e.ndev++
	out := new(gamev1.GuestLoginResponse)
	if err := functionstest.CallAs(functionstest.Context(t), e.reg, "", "", "login", "guest", &gamev1.GuestLoginRequest{DeviceId: fmt.Sprintf("test-device-%04d", e.ndev)}, out); err != nil {
		t.Fatal(err)
	}
	return gamemesh.PlayerID(out.PlayerId)
}

// giftAndClaim sends p a system mail with count of item and claims it.
func (e *env) giftAndClaim(t *testing.T, p gamemesh.PlayerID, item string, count int64) string {
	t.Helper()
	ctx := functionstest.Context(t)
	sent := new(gamev1.SendMailResponse)
	if err := functionstest.CallAs(ctx, e.reg, "", "", "mail", "send", &gamev1.SendMailRequest{To: string(p), Subject: "gift", RequestId: gamemesh.NewID(),
		Attachments: []*gamev1.Item{{Id: item, Count: count}}}, sent); err != nil {
		t.Fatal(err)
	}
	claimed := new(gamev1.ClaimMailResponse)
	if err := functionstest.CallAs(ctx, e.reg, p, "", "mail", "claim", &gamev1.ClaimMailRequest{MailId: sent.MailId}, claimed); err != nil {
		t.Fatal(err)
	}
	return claimed.GrantId
}

func (e *env) get(ctx context.Context, p gamemesh.PlayerID) (*gamev1.PlayerRecord, error) {
	out := new(gamev1.GetPlayerResponse)
	err := functionstest.CallAs(ctx, e.reg, p, "", "player", "get", &gamev1.GetPlayerRequest{}, out)
	return out.GetPlayer(), err
}

func (e *env) apply(ctx context.Context, p gamemesh.PlayerID) (*gamev1.ApplyGrantsResponse, error) {
	out := new(gamev1.ApplyGrantsResponse)
	err := functionstest.CallAs(ctx, e.reg, "", "", "player", "applyGrants", &gamev1.ApplyGrantsRequest{PlayerId: string(p)}, out)
	return out, err
}

func (e *env) pending(t *testing.T, p gamemesh.PlayerID) []*gamev1.Grant {
	t.Helper()
	out := new(gamev1.PendingGrantsResponse)
	if err := functionstest.CallAs(functionstest.Context(t), e.reg, "", "", "mail", "pendingGrants", &gamev1.PendingGrantsRequest{PlayerId: string(p)}, out); err != nil {
		t.Fatal(err)
	}
	return out.Grants
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

func TestGetCreatesRecordOnce(t *testing.T) {
	e := newEnv(t, player.Config{}, true)
	ctx := functionstest.Context(t)
	bob := e.newPlayer(t)
	const n = 10
	recs := make([]*gamev1.PlayerRecord, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { recs[i], errs[i] = e.get(ctx, bob) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if recs[i].PlayerId != string(bob) || recs[i].Level != 1 || recs[i].CreatedAtMs != recs[0].CreatedAtMs || recs[i].Name != recs[0].Name {
			t.Fatalf("record %d = %v, record 0 = %v", i, recs[i], recs[0])
		}
	}
	_, err := e.get(ctx, "")
	functionstest.WantCode(t, err, gamemesh.CodeNotLoggedIn)
	// applyGrants is for services only.
	err = functionstest.CallAs(ctx, e.reg, bob, "", "player", "applyGrants", &gamev1.ApplyGrantsRequest{PlayerId: string(bob)}, &gamev1.ApplyGrantsResponse{})
	functionstest.WantCode(t, err, gamemesh.CodeUnknownRoute)
	_, err = e.apply(ctx, "Not Valid")
	functionstest.WantCode(t, err, gamemesh.CodeInvalidArgument)
}

func TestClaimedItemsReachInventory(t *testing.T) {
	e := newEnv(t, player.Config{}, true)
	ctx := functionstest.Context(t)
	bob := e.newPlayer(t)
	grant := e.giftAndClaim(t, bob, "gold", 5) // the event applies it
	e.giftAndClaim(t, bob, "gold", 7)
	rec, err := e.get(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Inventory["gold"] != 12 || count(rec.AppliedGrants, grant) != 1 || len(rec.AppliedGrants) != 2 {
		t.Fatalf("record = %v", rec)
	}
	if g := e.pending(t, bob); len(g) != 0 {
		t.Fatalf("grants still pending: %v", g)
	}
}

func TestGetAppliesPendingGrants(t *testing.T) {
	e := newEnv(t, player.Config{}, false) // no event delivery: the login (get) applies
	ctx := functionstest.Context(t)
	bob := e.newPlayer(t)
	e.giftAndClaim(t, bob, "gem", 3)
	rec, err := e.get(ctx, bob)
	if err != nil || rec.Inventory["gem"] != 3 {
		t.Fatalf("get = %v, %v", rec, err)
	}
	// With mail down, get still answers with the record as it is.
	e.giftAndClaim(t, bob, "gem", 4)
	e.inv.failNext("mail.pendingGrants", 1)
	rec, err = e.get(ctx, bob)
	if err != nil || rec.Inventory["gem"] != 3 {
		t.Fatalf("get with mail down = %v, %v", rec, err)
	}
	rec, err = e.get(ctx, bob)
	if err != nil || rec.Inventory["gem"] != 7 {
		t.Fatalf("get after mail is back = %v, %v", rec, err)
	}
}

func TestConcurrentClaimsApplyOnce(t *testing.T) {
	e := newEnv(t, player.Config{}, true)
	ctx := functionstest.Context(t)
	bob := e.newPlayer(t)
	sent := new(gamev1.SendMailResponse)
	if err := functionstest.CallAs(ctx, e.reg, "", "", "mail", "send", &gamev1.SendMailRequest{To: string(bob), Subject: "gift", RequestId: "race-gift-1",
		Attachments: []*gamev1.Item{{Id: "gold", Count: 5}}}, sent); err != nil {
		t.Fatal(err)
	}
	const claims, appliers = 100, 20
	var ok, done, applyErrs atomic.Int32
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range claims {
		wg.Go(func() {
			err := functionstest.CallAs(ctx, e.reg, bob, "", "mail", "claim", &gamev1.ClaimMailRequest{MailId: sent.MailId}, &gamev1.ClaimMailResponse{})
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
	for range appliers {
		wg.Go(func() {
			if _, err := e.apply(ctx, bob); err != nil {
				applyErrs.Add(1)
				firstErr.CompareAndSwap(nil, err)
			}
		})
	}
	wg.Wait()
	if err := firstErr.Load(); err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if ok.Load() != 1 || done.Load() != claims-1 {
		t.Fatalf("%d successes and %d ALREADY_DONE, want 1 and %d", ok.Load(), done.Load(), claims-1)
	}
	if len(e.bus.Errors()) != 0 {
		t.Fatalf("subscription errors: %v", e.bus.Errors())
	}
	rec, err := e.get(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Inventory["gold"] != 5 || count(rec.AppliedGrants, "mail-"+sent.MailId) != 1 {
		t.Fatalf("record = %v, want 5 gold from one grant", rec)
	}
	if g := e.pending(t, bob); len(g) != 0 {
		t.Fatalf("grants still pending: %v", g)
	}
}

func TestCrashBetweenApplyAndAck(t *testing.T) {
	e := newEnv(t, player.Config{}, false)
	ctx := functionstest.Context(t)
	bob := e.newPlayer(t)
	grant := e.giftAndClaim(t, bob, "gold", 5)

	e.inv.failNext("mail.ackGrants", 1)
	_, err := e.apply(ctx, bob)
	functionstest.WantCode(t, err, gamemesh.CodeUnavailable)
	if g := e.pending(t, bob); len(g) != 1 {
		t.Fatalf("%d pending, want the unacknowledged grant", len(g))
	}
	out, err := e.apply(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Applied) != 0 || out.Player.Inventory["gold"] != 5 || count(out.Player.AppliedGrants, grant) != 1 {
		t.Fatalf("second apply = %v", out)
	}
	if g := e.pending(t, bob); len(g) != 0 {
		t.Fatalf("grants still pending after re-ack: %v", g)
	}
}

func TestStoreOutageThenRetry(t *testing.T) {
	e := newEnv(t, player.Config{}, false)
	ctx := functionstest.Context(t)
	bob := e.newPlayer(t)
	grant := e.giftAndClaim(t, bob, "gold", 5)
	before := e.mem.Snapshot()

	e.recStore.SetDown(true)
	_, err := e.apply(ctx, bob)
	functionstest.WantCode(t, err, gamemesh.CodeUnavailable)
	_, err = e.get(ctx, bob)
	functionstest.WantCode(t, err, gamemesh.CodeUnavailable)
	e.recStore.SetDown(false)
	functionstest.WantSame(t, before, e.mem.Snapshot())

	// The record write lands but its answer is lost: nothing is acked, and
	// the retry applies nothing twice.
	e.recStore.LoseAcks(1)
	_, err = e.apply(ctx, bob)
	functionstest.WantCode(t, err, gamemesh.CodeUnavailable)
	out, err := e.apply(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	if out.Player.Inventory["gold"] != 5 || count(out.Player.AppliedGrants, grant) != 1 {
		t.Fatalf("record = %v", out.Player)
	}
	if g := e.pending(t, bob); len(g) != 0 {
		t.Fatalf("grants still pending: %v", g)
	}
}

func TestOverflowIsRefused(t *testing.T) {
	e := newEnv(t, player.Config{MaxStack: 1500}, false)
	ctx := functionstest.Context(t)
	bob := e.newPlayer(t)
	first := e.giftAndClaim(t, bob, "gold", 1000)
	second := e.giftAndClaim(t, bob, "gold", 1000)
	e.giftAndClaim(t, bob, "gem", 1)
	out, err := e.apply(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	if out.Player.Inventory["gold"] != 1000 || out.Player.Inventory["gem"] != 1 || count(out.Player.AppliedGrants, first) != 1 || count(out.Player.AppliedGrants, second) != 0 {
		t.Fatalf("record = %v", out.Player)
	}
	if g := e.pending(t, bob); len(g) != 1 || g[0].Id != second {
		t.Fatalf("pending = %v, want the refused grant %s", g, second)
	}
}

func TestAppliedGrantsAreBounded(t *testing.T) {
	e := newEnv(t, player.Config{AppliedGrantsCap: 3}, true)
	ctx := functionstest.Context(t)
	bob := e.newPlayer(t)
	var grants []string
	for range 5 {
		grants = append(grants, e.giftAndClaim(t, bob, "gold", 1))
	}
	rec, err := e.get(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Inventory["gold"] != 5 || len(rec.AppliedGrants) != 3 || rec.AppliedGrants[2] != grants[4] || rec.AppliedGrants[0] != grants[2] {
		t.Fatalf("record = %v", rec)
	}
}

func TestMalformedEventIsDropped(t *testing.T) {
	e := newEnv(t, player.Config{}, false)
	ctx := functionstest.Context(t)
	subs := e.reg.Subscriptions()
	if len(subs) != 1 || subs[0].Topic != "player.grants" || subs[0].Group != "player" {
		t.Fatalf("subscriptions = %+v", subs)
	}
	before := e.mem.Snapshot()
	for _, data := range [][]byte{{0xff, 0xff}, nil} {
		if err := subs[0].Handler(ctx, gamemesh.Event{ID: "x", Topic: "player.grants", Data: data}); err != nil {
			t.Fatalf("malformed event asked for redelivery: %v", err)
		}
	}
	functionstest.WantSame(t, before, e.mem.Snapshot())
	// A good event whose apply fails asks for redelivery.
	bob := e.newPlayer(t)
	e.inv.failNext("mail.pendingGrants", 1)
	data := []byte{0x0a, byte(len(bob))}
	data = append(data, bob...)
	if err := subs[0].Handler(ctx, gamemesh.Event{ID: "y", Topic: "player.grants", Data: data}); err == nil {
		t.Fatal("failed apply acknowledged the event")
	}
}
