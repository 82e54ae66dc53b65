package mail_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/directory"
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
	mem    *functionstest.MemStore
	store  *functionstest.FaultyStore
	clk    *functionstest.Clock
	bus    *functionstest.Bus
	pushes *pushRecorder
	ndev   int
}

func newEnv(t *testing.T, cfg mail.Config) *env {
	t.Helper()
	clk := functionstest.NewClock()
	mem := functionstest.NewMemStore(clk.Now)
	e := &env{reg: functions.NewRegistry(), mem: mem, store: &functionstest.FaultyStore{Store: mem}, clk: clk, bus: &functionstest.Bus{}, pushes: &pushRecorder{}}
	// login keeps its own (healthy) store: the faults under test are mail's.
	la, err := login.New(login.Config{Secret: testSecret}, login.Deps{Store: functionstest.NewMemStore(clk.Now), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	la.Register(e.reg)
	ma, err := mail.New(cfg, mail.Deps{Store: e.store, Invoker: functionstest.Invoker{Registry: e.reg}, Pusher: e.pushes, Publisher: e.bus, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ma.Register(e.reg)
	return e
}

// newPlayer creates an account through login.guest.
func (e *env) newPlayer(t *testing.T) gamemesh.PlayerID {
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
	err := functionstest.CallAs(ctx, e.reg, from, "", "mail", "send", in, out)
	return out.GetMailId(), err
}

// gift sends a system mail with one attachment.
func (e *env) gift(t *testing.T, to gamemesh.PlayerID, item string, count int64) string {
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
	err := functionstest.CallAs(ctx, e.reg, p, "", "mail", "list", &gamev1.ListMailRequest{PageToken: token, PageSize: size}, out)
	return out, err
}

func (e *env) claim(ctx context.Context, p gamemesh.PlayerID, reqID, mailID string) (*gamev1.ClaimMailResponse, error) {
	out := new(gamev1.ClaimMailResponse)
	err := functionstest.CallAs(ctx, e.reg, p, reqID, "mail", "claim", &gamev1.ClaimMailRequest{MailId: mailID}, out)
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
