package achievement_test

// In-test wiring: the functionstest map Store behind its wrapper that fails
// writes on demand, the real mail app (with a stand-in login.exists), an
// invoker in front of mail that can be "down" and can arm a store failure
// right after a successful mail.send, a push recorder, and the real Lua rules
// (scripts/achievement) on a luavm.Pool behind a test adapter.

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/embedded"
	"github.com/gamemesh/gamemesh/functions"
	"github.com/gamemesh/gamemesh/functions/achievement"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	"github.com/gamemesh/gamemesh/functions/mail"
	"github.com/gamemesh/gamemesh/luavm"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// poolRules adapts luavm.Pool to achievement.Rules, as the lead's wiring will.
type poolRules struct{ pool *luavm.Pool }

func (r poolRules) Evaluate(ctx context.Context, calls []achievement.RuleCall) ([]achievement.RuleResult, string, error) {
	lc := make([]luavm.Call, len(calls))
	for i, c := range calls {
		lc[i] = luavm.Call{Fn: achievement.RuleFunction, Args: c.Args()}
	}
	res, gen, err := r.pool.CallBatch(ctx, achievement.RulesModule, lc)
	if err != nil {
		return nil, gen.String(), err
	}
	out := make([]achievement.RuleResult, len(res))
	for i, x := range res {
		out[i] = achievement.NewRuleResult(x.Values, x.Err)
	}
	return out, gen.String(), nil
}

// poolTemplates adapts luavm.Pool to mail.Templates, as internal/system does.
type poolTemplates struct{ pool *luavm.Pool }

func (p poolTemplates) Render(ctx context.Context, calls []mail.TemplateCall) ([]mail.Rendered, error) {
	lc := make([]luavm.Call, len(calls))
	for i, c := range calls {
		lc[i] = luavm.Call{Fn: mail.RenderFunction, Args: c.Args()}
	}
	res, _, err := p.pool.CallBatch(ctx, mail.TemplatesModule, lc)
	if err != nil {
		return nil, err
	}
	out := make([]mail.Rendered, len(res))
	for i, x := range res {
		out[i] = mail.NewRendered(x.Values, x.Err)
	}
	return out, nil
}

// startRules loads scripts/achievement and scripts/mail into a pool.
func startRules(t *testing.T) poolRules {
	t.Helper()
	pool, err := luavm.New(luavm.Options{Required: luavm.RequiredExports})
	if err != nil {
		t.Fatal(err)
	}
	if err := pool.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pool.Close() })
	for _, dir := range []string{"../../scripts/achievement", "../../scripts/mail"} {
		b, err := luavm.LoadModule(dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Patch(context.Background(), b, luavm.PatchOptions{By: "test", SkipCanary: true}); err != nil {
			t.Fatal(err)
		}
	}
	return poolRules{pool}
}

// mailGate sits between the achievement app and mail: it counts sends,
// can be down, and can run a hook after a successful send.
type mailGate struct {
	inv       gamemesh.Invoker
	down      atomic.Bool
	sends     atomic.Int32
	afterSend atomic.Pointer[func()]
}

func (g *mailGate) Invoke(ctx context.Context, req gamemesh.Request) ([]byte, error) {
	if req.App == "mail" && g.down.Load() {
		return nil, gamemesh.Errorf(gamemesh.CodeUnavailable, "mail down (test)")
	}
	out, err := g.inv.Invoke(ctx, req)
	if req.App == "mail" && req.Method == "send" && err == nil {
		g.sends.Add(1)
		if f := g.afterSend.Swap(nil); f != nil {
			(*f)()
		}
	}
	return out, err
}

type pushRecorder struct {
	mu     sync.Mutex
	pushes []*gamev1.AchievementUnlockedPush
}

func (p *pushRecorder) Push(_ context.Context, _ gamemesh.PlayerID, route string, body []byte) error {
	if route != achievement.PushRoute {
		return nil
	}
	m := new(gamev1.AchievementUnlockedPush)
	if err := proto.Unmarshal(body, m); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pushes = append(p.pushes, m)
	return nil
}

func (p *pushRecorder) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.pushes)
}

type nopPublisher struct{}

func (nopPublisher) Publish(context.Context, string, gamemesh.Event) error { return nil }

type offSwitch struct{ off atomic.Bool }

func (o *offSwitch) Enabled(app string) bool { return !(app == achievement.AppName && o.off.Load()) }

// env is the achievement app with mail, on either the map store or the embedded adapters.
type env struct {
	reg    *functions.Registry
	inv    gamemesh.Invoker
	mem    *functionstest.MemStore // nil on embedded
	faulty *functionstest.FaultyStore
	gate   *mailGate
	pushes *pushRecorder
	off    *offSwitch
	app    *achievement.App
	db     *embedded.DB
}

func newEnv(t *testing.T) *env {
	t.Helper()
	mem := functionstest.NewMemStore(nil)
	e := &env{reg: functions.NewRegistry(), mem: mem}
	e.inv = functionstest.Invoker{Registry: e.reg}
	e.start(t, mem, nopPublisher{})
	return e
}

func newEmbeddedEnv(t *testing.T) *env {
	t.Helper()
	db, err := embedded.Open(filepath.Join(t.TempDir(), "mesh.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	e := &env{reg: functions.NewRegistry(), db: db}
	e.inv = embedded.NewInvoker(e.reg, nil)
	e.start(t, db.Store(), db.Publisher())
	return e
}

func (e *env) start(t *testing.T, store gamemesh.Store, pub gamemesh.Publisher) {
	t.Helper()
	e.faulty = &functionstest.FaultyStore{Store: store}
	e.gate = &mailGate{inv: e.inv}
	e.pushes = &pushRecorder{}
	e.off = &offSwitch{}
	e.reg.Handle("login", "exists", functions.Method{Handler: functions.Typed(
		func() *gamev1.PlayerExistsRequest { return new(gamev1.PlayerExistsRequest) },
		func(context.Context, gamemesh.Request, *gamev1.PlayerExistsRequest) (*gamev1.PlayerExistsResponse, error) {
			return &gamev1.PlayerExistsResponse{Exists: true}, nil
		})})
	rules := startRules(t)
	m, err := mail.New(mail.Config{}, mail.Deps{Store: store, Invoker: e.inv, Publisher: pub, Templates: poolTemplates(rules)})
	if err != nil {
		t.Fatal(err)
	}
	m.Register(e.reg)
	e.app, err = achievement.New(achievement.Config{RetryDelay: 20 * time.Millisecond}, achievement.Deps{
		Store: e.faulty, Invoker: e.gate, Rules: rules, Pusher: e.pushes, Features: e.off,
	})
	if err != nil {
		t.Fatal(err)
	}
	e.app.Register(e.reg)
	e.reg.SetFeatures(e.off)
}

func (e *env) call(ctx context.Context, player gamemesh.PlayerID, app, method string, in, out proto.Message) error {
	body, err := proto.Marshal(in)
	if err != nil {
		return err
	}
	resp, err := e.inv.Invoke(ctx, gamemesh.Request{App: app, Method: method, Player: player, ID: gamemesh.NewID(), Body: body})
	if err != nil {
		return err
	}
	return proto.Unmarshal(resp, out)
}

func (e *env) record(ctx context.Context, ev *gamev1.GameEvent) (*gamev1.RecordEventResponse, error) {
	out := new(gamev1.RecordEventResponse)
	err := e.call(ctx, "", achievement.AppName, "record", ev, out)
	return out, err
}

func (e *env) list(t *testing.T, p gamemesh.PlayerID) *gamev1.ListAchievementsResponse {
	t.Helper()
	out := new(gamev1.ListAchievementsResponse)
	if err := e.call(functionstest.Context(t), p, achievement.AppName, "list", &gamev1.ListAchievementsRequest{}, out); err != nil {
		t.Fatalf("list: %v", err)
	}
	return out
}

// mails returns p's mailbox.
func (e *env) mails(t *testing.T, p gamemesh.PlayerID) []*gamev1.Mail {
	t.Helper()
	out := new(gamev1.ListMailResponse)
	if err := e.call(functionstest.Context(t), p, "mail", "list", &gamev1.ListMailRequest{PageSize: 50}, out); err != nil {
		t.Fatalf("mail.list: %v", err)
	}
	return out.Mails
}

func kill(p gamemesh.PlayerID, id string, n int64) *gamev1.GameEvent {
	return &gamev1.GameEvent{Id: id, PlayerId: string(p), Kind: "monster_killed", Count: n}
}

// wantReward checks that p has exactly one mail, carrying items.
func wantOneRewardMail(t *testing.T, e *env, p gamemesh.PlayerID, item string, count int64) {
	t.Helper()
	ms := e.mails(t, p)
	if len(ms) != 1 {
		t.Fatalf("%d mails, want 1", len(ms))
	}
	a := ms[0].Attachments
	if len(a) != 1 || a[0].Id != item || a[0].Count != count {
		t.Fatalf("attachments %v, want %s x%d", a, item, count)
	}
}
