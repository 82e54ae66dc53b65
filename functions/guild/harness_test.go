package guild_test

// In-test wiring: a fake login.exists, a push recorder, and an env that runs
// the guild app either on the functionstest map store (behind its faulty
// wrapper: down, or "crashed" after a given write) or on the embedded
// adapters (bbolt store, in-process invoker).

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/embedded"
	"github.com/gamemesh/gamemesh/functions"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	"github.com/gamemesh/gamemesh/functions/guild"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

type push struct {
	player gamemesh.PlayerID
	route  string
	msg    *gamev1.GuildPush
}

type pushRecorder struct {
	mu     sync.Mutex
	pushes []push
}

func (p *pushRecorder) Push(_ context.Context, player gamemesh.PlayerID, route string, body []byte) error {
	msg := new(gamev1.GuildPush)
	if err := proto.Unmarshal(body, msg); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pushes = append(p.pushes, push{player, route, msg})
	return nil
}

func (p *pushRecorder) take() []push {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.pushes
	p.pushes = nil
	return out
}

// env is one guild app with its store, invoker, clock and known players.
type env struct {
	reg    *functions.Registry
	inv    gamemesh.Invoker
	store  gamemesh.Store          // the healthy store under the faulty wrapper
	mem    *functionstest.MemStore // nil on the embedded adapters
	faulty *functionstest.FaultyStore
	clk    *functionstest.Clock
	pushes *pushRecorder

	mu    sync.Mutex
	known map[gamemesh.PlayerID]bool
}

// newEnv runs the guild app on the in-test map store.
func newEnv(t *testing.T, cfg guild.Config) *env {
	t.Helper()
	clk := functionstest.NewClock()
	mem := functionstest.NewMemStore(clk.Now)
	e := &env{reg: functions.NewRegistry(), store: mem, mem: mem, clk: clk}
	e.inv = functionstest.Invoker{Registry: e.reg}
	e.start(t, cfg)
	return e
}

// newEmbeddedEnv runs the guild app on the embedded adapters: the bbolt
// store and the in-process invoker (calls go through it, with its copying,
// deadlines and goroutines).
func newEmbeddedEnv(t *testing.T, cfg guild.Config) *env {
	t.Helper()
	db, err := embedded.Open(filepath.Join(t.TempDir(), "mesh.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	e := &env{reg: functions.NewRegistry(), store: db.Store(), clk: functionstest.NewClock()}
	e.inv = embedded.NewInvoker(e.reg, nil)
	e.start(t, cfg)
	return e
}

func (e *env) start(t *testing.T, cfg guild.Config) {
	t.Helper()
	e.faulty = &functionstest.FaultyStore{Store: e.store}
	e.pushes = &pushRecorder{}
	e.known = map[gamemesh.PlayerID]bool{}
	// A stand-in for login.exists: the players made by newPlayer exist.
	e.reg.Handle("login", "exists", functions.Method{Handler: functions.Typed(
		func() *gamev1.PlayerExistsRequest { return new(gamev1.PlayerExistsRequest) },
		func(_ context.Context, _ gamemesh.Request, in *gamev1.PlayerExistsRequest) (*gamev1.PlayerExistsResponse, error) {
			e.mu.Lock()
			defer e.mu.Unlock()
			return &gamev1.PlayerExistsResponse{Exists: e.known[gamemesh.PlayerID(in.PlayerId)]}, nil
		})})
	app, err := guild.New(cfg, guild.Deps{Store: e.faulty, Invoker: e.inv, Pusher: e.pushes, Now: e.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	app.Register(e.reg)
}

func (e *env) newPlayer() gamemesh.PlayerID {
	p := gamemesh.NewPlayerID()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.known[p] = true
	return p
}

func (e *env) newPlayers(n int) []gamemesh.PlayerID {
	out := make([]gamemesh.PlayerID, n)
	for i := range out {
		out[i] = e.newPlayer()
	}
	return out
}

// call runs guild.method as player (empty: a service) with request id id
// (empty: a fresh one) through the env's invoker.
func (e *env) call(ctx context.Context, player gamemesh.PlayerID, id, method string, in, out proto.Message) error {
	body, err := proto.Marshal(in)
	if err != nil {
		return err
	}
	if id == "" {
		id = gamemesh.NewID()
	}
	resp, err := e.inv.Invoke(ctx, gamemesh.Request{App: guild.AppName, Method: method, Player: player, ID: id, Body: body})
	if err != nil {
		return err
	}
	return proto.Unmarshal(resp, out)
}

// do runs a method answered by GuildResponse.
func (e *env) do(ctx context.Context, p gamemesh.PlayerID, method string, in proto.Message) (*gamev1.GuildResponse, error) {
	out := new(gamev1.GuildResponse)
	err := e.call(ctx, p, "", method, in, out)
	return out, err
}

func (e *env) target(ctx context.Context, actor gamemesh.PlayerID, method, id string, q gamemesh.PlayerID) error {
	_, err := e.do(ctx, actor, method, &gamev1.GuildTargetRequest{GuildId: id, PlayerId: string(q)})
	return err
}

func (e *env) onGuild(ctx context.Context, p gamemesh.PlayerID, method, id string) error {
	_, err := e.do(ctx, p, method, &gamev1.GuildRequest{GuildId: id})
	return err
}

// create makes a guild led by leader and returns its id.
func (e *env) create(t *testing.T, leader gamemesh.PlayerID, name string, open bool) string {
	t.Helper()
	out, err := e.do(functionstest.Context(t), leader, "create", &gamev1.CreateGuildRequest{Name: name, Open: open})
	if err != nil {
		t.Fatalf("create %q: %v", name, err)
	}
	return out.Guild.Id
}

// mustDo fails the test on error.
func (e *env) must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// settle runs guild.settle for p and returns its guild id ("" for none).
func (e *env) settle(t *testing.T, p gamemesh.PlayerID) string {
	t.Helper()
	out := new(gamev1.SettleGuildResponse)
	if err := e.call(functionstest.Context(t), "", "", "settle", &gamev1.SettleGuildRequest{PlayerId: string(p)}, out); err != nil {
		t.Fatalf("settle %s: %v", p, err)
	}
	return out.GuildId
}

// join puts p in guild id through apply + approve by approver.
func (e *env) join(t *testing.T, id string, approver, p gamemesh.PlayerID) {
	t.Helper()
	ctx := functionstest.Context(t)
	e.must(t, e.onGuild(ctx, p, "apply", id))
	e.must(t, e.target(ctx, approver, "approve", id, p))
}

func wantErr(t *testing.T, err error, want gamemesh.Code, msg string) {
	t.Helper()
	functionstest.WantCode(t, err, want)
	if got := gamemesh.MessageOf(err); got != msg {
		t.Fatalf("message %q, want %q", got, msg)
	}
}
