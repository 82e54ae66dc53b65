package login_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	"github.com/gamemesh/gamemesh/functions/login"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/ticket"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testSecret signs login tickets in these tests only.
var testSecret = []byte("0123456789abcdef0123456789abcdef-test-only")

type env struct {
	reg   *functions.Registry
	mem   *functionstest.MemStore
	store *functionstest.FaultyStore
	clk   *functionstest.Clock
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clk := functionstest.NewClock()
	mem := functionstest.NewMemStore(clk.Now)
	store := &functionstest.FaultyStore{Store: mem}
	app, err := login.New(login.Config{Secret: testSecret, TicketTTL: time.Minute}, login.Deps{Store: store, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	reg := functions.NewRegistry()
	app.Register(reg)
	return &env{reg: reg, mem: mem, store: store, clk: clk}
}

func (e *env) guest(ctx context.Context, device string) (*gamev1.GuestLoginResponse, error) {
	out := new(gamev1.GuestLoginResponse)
	err := functionstest.CallAs(ctx, e.reg, "", "", "login", "guest", &gamev1.GuestLoginRequest{DeviceId: device}, out)
	return out, err
}

func (e *env) ban(ctx context.Context, player string, reason string, until time.Time) error {
	var ms int64
	if !until.IsZero() {
		ms = until.UnixMilli()
	}
	return functionstest.CallAs(ctx, e.reg, "", "", "login", "ban", &gamev1.BanRequest{PlayerId: player, Reason: reason, UntilMs: ms}, &gamev1.BanResponse{})
}

func (e *env) exists(ctx context.Context, player string) (bool, error) {
	out := new(gamev1.PlayerExistsResponse)
	err := functionstest.CallAs(ctx, e.reg, "", "", "login", "exists", &gamev1.PlayerExistsRequest{PlayerId: player}, out)
	return out.GetExists(), err
}

func TestNewRefusesShortSecret(t *testing.T) {
	if _, err := login.New(login.Config{Secret: []byte("short")}, login.Deps{Store: functionstest.NewMemStore(time.Now)}); err == nil {
		t.Fatal("New accepted a 5-byte secret")
	}
	if _, err := login.New(login.Config{Secret: testSecret}, login.Deps{}); err == nil {
		t.Fatal("New accepted a nil Store")
	}
}

func TestGuestConcurrentFirstLoginsMakeOnePlayer(t *testing.T) {
	e := newEnv(t)
	ctx := functionstest.Context(t)
	const n = 32
	resps := make([]*gamev1.GuestLoginResponse, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { resps[i], errs[i] = e.guest(ctx, "device-0001") })
	}
	wg.Wait()
	created := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("login %d: %v", i, errs[i])
		}
		if resps[i].PlayerId != resps[0].PlayerId {
			t.Fatalf("device got two players: %s and %s", resps[0].PlayerId, resps[i].PlayerId)
		}
		if resps[i].Created {
			created++
		}
	}
	if created != 1 {
		t.Fatalf("%d logins said created, want 1", created)
	}
	// Later logins: same player, not created, fresh ticket that verifies.
	again, err := e.guest(ctx, "device-0001")
	if err != nil || again.PlayerId != resps[0].PlayerId || again.Created {
		t.Fatalf("second login = %+v, %v", again, err)
	}
	v, err := ticket.NewVerifier(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	claims, err := v.Verify(again.Ticket, e.clk.Now())
	if err != nil {
		t.Fatalf("ticket does not verify: %v", err)
	}
	if string(claims.Player) != again.PlayerId || claims.ExpiresAt.UnixMilli() != again.ExpiresAtMs {
		t.Fatalf("claims %+v do not match response %+v", claims, again)
	}
	if _, err := v.Verify(again.Ticket, e.clk.Now().Add(2*time.Minute)); gamemesh.CodeOf(err) != gamemesh.CodeTicketExpired {
		t.Fatalf("ticket still valid after its TTL: %v", err)
	}
	if other, err := e.guest(ctx, "device-0002"); err != nil || other.PlayerId == again.PlayerId || !other.Created {
		t.Fatalf("another device = %+v, %v", other, err)
	}
	if ok, err := e.exists(ctx, again.PlayerId); err != nil || !ok {
		t.Fatalf("exists = %v, %v", ok, err)
	}
}

func TestGuestRefusesBadDeviceIDs(t *testing.T) {
	e := newEnv(t)
	ctx := functionstest.Context(t)
	for name, dev := range map[string]string{
		"empty":     "",
		"too short": "1234567",
		"too long":  strings.Repeat("a", 129),
		"control":   "device\x00001",
		"newline":   "device\n0001",
		"del":       "device\x7f001",
		"non-ascii": "devicé-0001",
	} {
		t.Run(name, func(t *testing.T) {
			before := e.mem.Snapshot()
			_, err := e.guest(ctx, dev)
			functionstest.WantCode(t, err, gamemesh.CodeInvalidArgument)
			functionstest.WantSame(t, before, e.mem.Snapshot())
		})
	}
	if _, err := e.guest(ctx, strings.Repeat("a", 128)); err != nil {
		t.Fatalf("128-character device id refused: %v", err)
	}
	// The body limit is applied before the handler runs.
	err := functionstest.CallAs(ctx, e.reg, "", "", "login", "guest", &gamev1.GuestLoginRequest{DeviceId: strings.Repeat("a", 600)}, &gamev1.GuestLoginResponse{})
	functionstest.WantCode(t, err, gamemesh.CodeBodyTooLarge)
}

func TestBans(t *testing.T) {
	e := newEnv(t)
	ctx := functionstest.Context(t)
	acct, err := e.guest(ctx, "banned-device")
	if err != nil {
		t.Fatal(err)
	}
	until := e.clk.Now().Add(time.Hour)
	if err := e.ban(ctx, acct.PlayerId, "cheating", until); err != nil {
		t.Fatal(err)
	}
	before := e.mem.Snapshot()
	_, err = e.guest(ctx, "banned-device")
	functionstest.WantCode(t, err, gamemesh.CodeBanned)
	if msg := gamemesh.MessageOf(err); !strings.Contains(msg, "cheating") || !strings.Contains(msg, until.UTC().Format(time.RFC3339)) {
		t.Fatalf("ban message %q lacks reason or until", msg)
	}
	functionstest.WantSame(t, before, e.mem.Snapshot())

	// The ban lapses by itself.
	e.clk.Advance(time.Hour + time.Second)
	if _, err := e.guest(ctx, "banned-device"); err != nil {
		t.Fatalf("expired ban still refuses: %v", err)
	}

	// Forever, then lifted.
	if err := e.ban(ctx, acct.PlayerId, "forever", time.Time{}); err != nil {
		t.Fatal(err)
	}
	_, err = e.guest(ctx, "banned-device")
	functionstest.WantCode(t, err, gamemesh.CodeBanned)
	if err := functionstest.CallAs(ctx, e.reg, "", "", "login", "unban", &gamev1.UnbanRequest{PlayerId: acct.PlayerId}, &gamev1.BanResponse{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.guest(ctx, "banned-device"); err != nil {
		t.Fatalf("unbanned account refused: %v", err)
	}
	// Unban twice is fine.
	if err := functionstest.CallAs(ctx, e.reg, "", "", "login", "unban", &gamev1.UnbanRequest{PlayerId: acct.PlayerId}, &gamev1.BanResponse{}); err != nil {
		t.Fatal(err)
	}
}

func TestBanBadInput(t *testing.T) {
	e := newEnv(t)
	ctx := functionstest.Context(t)
	acct, err := e.guest(ctx, "some-device")
	if err != nil {
		t.Fatal(err)
	}
	before := e.mem.Snapshot()
	functionstest.WantCode(t, e.ban(ctx, "pnosuchplayer00000000", "x", time.Time{}), gamemesh.CodeNotFound)
	functionstest.WantCode(t, functionstest.CallAs(ctx, e.reg, "", "", "login", "unban", &gamev1.UnbanRequest{PlayerId: "pnosuchplayer00000000"}, &gamev1.BanResponse{}), gamemesh.CodeNotFound)
	functionstest.WantCode(t, e.ban(ctx, "Bad Id!", "x", time.Time{}), gamemesh.CodeInvalidArgument)
	functionstest.WantCode(t, e.ban(ctx, acct.PlayerId, "bad\x1breason", time.Time{}), gamemesh.CodeInvalidArgument)
	functionstest.WantCode(t, e.ban(ctx, acct.PlayerId, strings.Repeat("r", 257), time.Time{}), gamemesh.CodeInvalidArgument)
	err = functionstest.CallAs(ctx, e.reg, "", "", "login", "ban", &gamev1.BanRequest{PlayerId: acct.PlayerId, UntilMs: -1}, &gamev1.BanResponse{})
	functionstest.WantCode(t, err, gamemesh.CodeInvalidArgument)
	// Players cannot reach service methods.
	err = functionstest.CallAs(ctx, e.reg, gamemesh.PlayerID(acct.PlayerId), "", "login", "ban", &gamev1.BanRequest{PlayerId: acct.PlayerId}, &gamev1.BanResponse{})
	functionstest.WantCode(t, err, gamemesh.CodeUnknownRoute)
	functionstest.WantSame(t, before, e.mem.Snapshot())

	if ok, err := e.exists(ctx, "pnosuchplayer00000000"); err != nil || ok {
		t.Fatalf("exists(unknown) = %v, %v", ok, err)
	}
	_, err = e.exists(ctx, "NOT VALID")
	functionstest.WantCode(t, err, gamemesh.CodeInvalidArgument)
}

func TestStoreOutageThenRetry(t *testing.T) {
	e := newEnv(t)
	ctx := functionstest.Context(t)

	e.store.SetDown(true)
	_, err := e.guest(ctx, "outage-device")
	functionstest.WantCode(t, err, gamemesh.CodeUnavailable)
	e.store.SetDown(false)
	if len(e.mem.Snapshot()) != 0 {
		t.Fatal("a failed login left keys behind")
	}

	// The device mapping is written but its answer is lost: the retry finds
	// it and finishes the account, one player in all.
	e.store.LoseAcks(1)
	_, err = e.guest(ctx, "outage-device")
	functionstest.WantCode(t, err, gamemesh.CodeUnavailable)
	first, err := e.guest(ctx, "outage-device")
	if err != nil {
		t.Fatal(err)
	}
	second, err := e.guest(ctx, "outage-device")
	if err != nil || second.PlayerId != first.PlayerId {
		t.Fatalf("retry gave %+v, %v; want player %s", second, err, first.PlayerId)
	}
	if n := len(e.mem.Snapshot()); n != 2 {
		t.Fatalf("%d keys after logins of one device, want 2 (device, account)", n)
	}
	if ok, err := e.exists(ctx, first.PlayerId); err != nil || !ok {
		t.Fatalf("exists = %v, %v", ok, err)
	}

	// A ban during an outage fails cleanly and works once the store is back.
	e.store.SetDown(true)
	functionstest.WantCode(t, e.ban(ctx, first.PlayerId, "x", time.Time{}), gamemesh.CodeUnavailable)
	e.store.SetDown(false)
	if err := e.ban(ctx, first.PlayerId, "x", time.Time{}); err != nil {
		t.Fatal(err)
	}
	_, err = e.guest(ctx, "outage-device")
	functionstest.WantCode(t, err, gamemesh.CodeBanned)
}

// A logged-in player cannot mint tickets over its game connection: guest is
// reached only as a service call (the gate's rate-limited HTTP endpoint).
func TestGuestNotCallableByPlayers(t *testing.T) {
	e := newEnv(t)
	ctx := functionstest.Context(t)
	out, err := e.guest(ctx, "device-0000001")
	if err != nil {
		t.Fatal(err)
	}
	err = functionstest.CallAs(ctx, e.reg, gamemesh.PlayerID(out.PlayerId), "", "login", "guest", &gamev1.GuestLoginRequest{DeviceId: "device-0000002"}, new(gamev1.GuestLoginResponse))
	functionstest.WantCode(t, err, gamemesh.CodeUnknownRoute)
}
