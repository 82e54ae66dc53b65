package mail_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/embedded"
	"github.com/gamemesh/gamemesh/functions"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	"github.com/gamemesh/gamemesh/functions/login"
	"github.com/gamemesh/gamemesh/functions/mail"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testSecret signs login tickets in these tests only.
var testSecret = []byte("0123456789abcdef0123456789abcdef-test-only")

// The gate-side directory.Pusher is what internal/system passes as Deps.Pusher.
var _ mail.Pusher = directory.Pusher{}

type push struct {
	player gamemesh.PlayerID
	route  string
	body   []byte
}

type pushRecorder struct {
	mu     sync.Mutex
	pushes []push
}

func (p *pushRecorder) Push(_ context.Context, player gamemesh.PlayerID, route string, body []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pushes = append(p.pushes, push{player, route, body})
	return nil
}

type env struct {
	reg    *functions.Registry
	inv    gamemesh.Invoker
	mem    *functionstest.MemStore // nil on the embedded adapters
	store  *functionstest.FaultyStore
	clk    *functionstest.Clock
	bus    *functionstest.Bus
	pushes *pushRecorder
	tpl    *switchTemplates
	app    *mail.App
	ndev   int

	mu       sync.Mutex
	profiles map[gamemesh.PlayerID]*gamev1.PlayerProfileResponse
	// profileDown makes the player.profile stand-in answer UNAVAILABLE.
	profileDown bool
	profileCall int
}

// newEnv runs login and mail on the functionstest map store (mail's behind
// a FaultyStore), with a stand-in player.profile and templates that are
// unavailable until startLua.
func newEnv(t *testing.T, cfg mail.Config) *env {
	t.Helper()
	clk := functionstest.NewClock()
	mem := functionstest.NewMemStore(clk.Now)
	e := &env{reg: functions.NewRegistry(), mem: mem, store: &functionstest.FaultyStore{Store: mem}, clk: clk}
	e.inv = functionstest.Invoker{Registry: e.reg}
	e.start(t, cfg, functionstest.NewMemStore(clk.Now), nil)
	return e
}

// newEmbeddedEnv runs the same apps on the embedded adapters: the bbolt
// store (real ETags, group commit), its durable event queue as publisher
// (e.bus then records nothing) and the in-process invoker.
func newEmbeddedEnv(t testing.TB, cfg mail.Config) *env {
	t.Helper()
	db, err := embedded.Open(filepath.Join(t.TempDir(), "mesh.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	e := &env{reg: functions.NewRegistry(), store: &functionstest.FaultyStore{Store: db.Store()}, clk: functionstest.NewClock()}
	e.inv = embedded.NewInvoker(e.reg, nil)
	e.start(t, cfg, db.Store(), db.Publisher())
	return e
}

func (e *env) start(t testing.TB, cfg mail.Config, loginStore gamemesh.Store, pub gamemesh.Publisher) {
	t.Helper()
	e.bus, e.pushes, e.tpl = &functionstest.Bus{}, &pushRecorder{}, &switchTemplates{}
	if pub == nil {
		pub = e.bus
	}
	e.profiles = map[gamemesh.PlayerID]*gamev1.PlayerProfileResponse{}
	// login keeps its own (healthy) store: the faults under test are mail's.
	la, err := login.New(login.Config{Secret: testSecret}, login.Deps{Store: loginStore, Now: e.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	la.Register(e.reg)
	e.reg.Handle("player", "profile", functions.Method{Handler: functions.Typed(
		func() *gamev1.PlayerProfileRequest { return new(gamev1.PlayerProfileRequest) },
		func(_ context.Context, _ gamemesh.Request, in *gamev1.PlayerProfileRequest) (*gamev1.PlayerProfileResponse, error) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.profileCall++
			if e.profileDown {
				return nil, gamemesh.Errorf(gamemesh.CodeUnavailable, "player down (test)")
			}
			if p := e.profiles[gamemesh.PlayerID(in.PlayerId)]; p != nil {
				return proto.Clone(p).(*gamev1.PlayerProfileResponse), nil
			}
			return &gamev1.PlayerProfileResponse{Level: 1}, nil
		})})
	e.app, err = mail.New(cfg, mail.Deps{Store: e.store, Invoker: e.inv, Pusher: e.pushes, Publisher: pub, Now: e.clk.Now, Templates: e.tpl})
	if err != nil {
		t.Fatal(err)
	}
	e.app.Register(e.reg)
}

// setProfile sets what player.profile answers for p.
func (e *env) setProfile(p gamemesh.PlayerID, level int64, created time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.profiles[p] = &gamev1.PlayerProfileResponse{Found: true, Level: level, CreatedAtMs: created.UnixMilli()}
}

func (e *env) setProfileDown(down bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.profileDown = down
}

// call runs mail.method through the env's invoker as player (empty: a
// service) with request id id (empty: a fresh one).
func (e *env) call(ctx context.Context, p gamemesh.PlayerID, id, method string, in, out proto.Message) error {
	body, err := proto.Marshal(in)
	if err != nil {
		return err
	}
	if id == "" {
		id = gamemesh.NewID()
	}
	resp, err := e.inv.Invoke(ctx, gamemesh.Request{App: "mail", Method: method, Player: p, ID: id, Body: body})
	if err != nil {
		return err
	}
	return proto.Unmarshal(resp, out)
}

// snapshot returns the map store's content (nil on the embedded adapters).
func (e *env) snapshot() map[string]string {
	if e.mem == nil {
		return nil
	}
	return e.mem.Snapshot()
}

// unchanged fails the test if the map store changed since before.
func (e *env) unchanged(t *testing.T, before map[string]string) {
	t.Helper()
	if e.mem != nil {
		functionstest.WantSame(t, before, e.mem.Snapshot())
	}
}

// newPlayer creates an account through login.guest.
func (e *env) newPlayer(t testing.TB) gamemesh.PlayerID {
	t.Helper()
	e.ndev++
	out := new(gamev1.GuestLoginResponse)
	if err := functionstest.CallAs(functionstest.Context(t), e.reg, "", "", "login", "guest", &gamev1.GuestLoginRequest{DeviceId: fmt.Sprintf("test-device-%04d", e.ndev)}, out); err != nil {
		t.Fatal(err)
	}
	return gamemesh.PlayerID(out.PlayerId)
}

func (e *env) send(ctx context.Context, from gamemesh.PlayerID, in *gamev1.SendMailRequest) (string, error) {
	out := new(gamev1.SendMailResponse)
	err := e.call(ctx, from, "", "send", in, out)
	return out.GetMailId(), err
}

// gift sends a system mail with one attachment.
func (e *env) gift(t testing.TB, to gamemesh.PlayerID, item string, count int64) string {
	t.Helper()
	id, err := e.send(functionstest.Context(t), "", &gamev1.SendMailRequest{To: string(to), Subject: "gift", RequestId: gamemesh.NewID(),
		Attachments: []*gamev1.Item{{Id: item, Count: count}}})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// note sends a system mail without attachments.
func (e *env) note(t *testing.T, to gamemesh.PlayerID, subject string) string {
	t.Helper()
	id, err := e.send(functionstest.Context(t), "", &gamev1.SendMailRequest{To: string(to), Subject: subject, RequestId: gamemesh.NewID()})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (e *env) list(ctx context.Context, p gamemesh.PlayerID, token string, size int32) (*gamev1.ListMailResponse, error) {
	out := new(gamev1.ListMailResponse)
	err := e.call(ctx, p, "", "list", &gamev1.ListMailRequest{PageToken: token, PageSize: size}, out)
	return out, err
}

func (e *env) claim(ctx context.Context, p gamemesh.PlayerID, reqID, mailID string) (*gamev1.ClaimMailResponse, error) {
	out := new(gamev1.ClaimMailResponse)
	err := e.call(ctx, p, reqID, "claim", &gamev1.ClaimMailRequest{MailId: mailID}, out)
	return out, err
}

func (e *env) pending(t *testing.T, p gamemesh.PlayerID) []*gamev1.Grant {
	t.Helper()
	out := new(gamev1.PendingGrantsResponse)
	if err := e.call(functionstest.Context(t), "", "", "pendingGrants", &gamev1.PendingGrantsRequest{PlayerId: string(p)}, out); err != nil {
		t.Fatal(err)
	}
	return out.Grants
}

// ids lists every live mail id of p, newest first.
func (e *env) ids(t *testing.T, p gamemesh.PlayerID) []string {
	t.Helper()
	out, err := e.list(functionstest.Context(t), p, "", 50)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(out.Mails))
	for i, m := range out.Mails {
		ids[i] = m.Id
	}
	return ids
}

// read reads one mail of p.
func (e *env) read(ctx context.Context, p gamemesh.PlayerID, mailID string) (*gamev1.Mail, error) {
	out := new(gamev1.ReadMailResponse)
	err := e.call(ctx, p, "", "read", &gamev1.ReadMailRequest{MailId: mailID}, out)
	return out.GetMail(), err
}

// claimAll runs mail.claimAll as p with request id reqID (empty: a fresh one).
func (e *env) claimAll(ctx context.Context, p gamemesh.PlayerID, reqID string) (*gamev1.ClaimAllMailResponse, error) {
	out := new(gamev1.ClaimAllMailResponse)
	err := e.call(ctx, p, reqID, "claimAll", &gamev1.ClaimAllMailRequest{}, out)
	return out, err
}

// broadcast runs mail.broadcast as a service.
func (e *env) broadcast(ctx context.Context, in *gamev1.BroadcastMailRequest) (string, error) {
	out := new(gamev1.BroadcastMailResponse)
	err := e.call(ctx, "", "", "broadcast", in, out)
	return out.GetBroadcastId(), err
}

// grantItems runs mail.grant as a service.
func (e *env) grantItems(ctx context.Context, in *gamev1.GrantItemsRequest) (string, error) {
	out := new(gamev1.GrantItemsResponse)
	err := e.call(ctx, "", "", "grant", in, out)
	return out.GetGrantId(), err
}

// box returns the stored mailbox of p as JSON fields (map store only).
func (e *env) rawBox(t *testing.T, p gamemesh.PlayerID) string {
	t.Helper()
	return e.snapshot()["mail/box/"+string(p)]
}
