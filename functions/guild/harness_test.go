package guild_test

// In-test wiring: a map Store with the gamemesh.Store ETag semantics, a Store
// wrapper that fails on demand (down, or "crashed" after a given write), a
// fake login.exists, a push recorder, a settable clock, and an env that runs
// the guild app either on these or on the embedded adapters (bbolt store,
// in-process invoker).

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/embedded"
	"github.com/gamemesh/gamemesh/functions"
	"github.com/gamemesh/gamemesh/functions/guild"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

type memEntry struct {
	val  []byte
	etag string
	exp  time.Time
}

// memStore is a Store in a map: create-only on empty ETag, compare-and-set
// otherwise, TTL against its clock.
type memStore struct {
	mu   sync.Mutex
	data map[string]memEntry
	seq  int64
	now  func() time.Time
}

func newMemStore(now func() time.Time) *memStore {
	return &memStore{data: make(map[string]memEntry), now: now}
}

func (s *memStore) live(key string) (memEntry, bool) {
	e, ok := s.data[key]
	if ok && !e.exp.IsZero() && !s.now().Before(e.exp) {
		delete(s.data, key)
		return memEntry{}, false
	}
	return e, ok
}

func (s *memStore) Get(ctx context.Context, key string) (gamemesh.Item, error) {
	if err := ctx.Err(); err != nil {
		return gamemesh.Item{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.live(key)
	if !ok {
		return gamemesh.Item{}, gamemesh.Errorf(gamemesh.CodeNotFound, "no key %s", key)
	}
	return gamemesh.Item{Value: append([]byte(nil), e.val...), ETag: e.etag}, nil
}

func (s *memStore) Set(ctx context.Context, key string, value []byte, opts gamemesh.SetOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.live(key)
	switch {
	case opts.Unconditional:
	case opts.ETag == "" && ok:
		return gamemesh.Errorf(gamemesh.CodeConflict, "key %s exists", key)
	case opts.ETag != "" && (!ok || e.etag != opts.ETag):
		return gamemesh.Errorf(gamemesh.CodeConflict, "etag mismatch on %s", key)
	}
	s.seq++
	ne := memEntry{val: append([]byte(nil), value...), etag: strconv.FormatInt(s.seq, 10)}
	if opts.TTL > 0 {
		ne.exp = s.now().Add(opts.TTL)
	}
	s.data[key] = ne
	return nil
}

func (s *memStore) Delete(ctx context.Context, key string, etag string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.live(key)
	if !ok {
		return nil
	}
	if etag != "" && e.etag != etag {
		return gamemesh.Errorf(gamemesh.CodeConflict, "etag mismatch on %s", key)
	}
	delete(s.data, key)
	return nil
}

// snapshot returns every key with its value, to check that nothing changed.
func (s *memStore) snapshot() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.data))
	for k, e := range s.data {
		out[k] = string(e.val)
	}
	return out
}

// faultyStore wraps a Store. While down every call is UNAVAILABLE. A crash
// plan (crashAfter) lets n more writes to keys with a prefix succeed and then
// fails every later write and delete (any key) as a dead process would,
// until heal.
type faultyStore struct {
	gamemesh.Store
	down    atomic.Bool
	planned atomic.Bool // a crash plan is set: writes go through mu

	mu        sync.Mutex
	prefix    string
	remaining int
	armed     bool
	crashed   bool
}

var errDown = gamemesh.Errorf(gamemesh.CodeUnavailable, "store down (test)")

func (f *faultyStore) crashAfter(prefix string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prefix, f.remaining, f.armed, f.crashed = prefix, n, true, n == 0
	f.planned.Store(true)
}

func (f *faultyStore) heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armed, f.crashed = false, false
	f.planned.Store(false)
}

func (f *faultyStore) isCrashed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.crashed
}

// write applies a write to key through do, unless the store is down or
// crashed.
func (f *faultyStore) write(key string, do func() error) error {
	if f.down.Load() {
		return errDown
	}
	if !f.planned.Load() {
		return do() // no crash plan: concurrent writes stay concurrent
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.crashed {
		return errDown
	}
	err := do()
	if err == nil && f.armed && strings.HasPrefix(key, f.prefix) {
		if f.remaining--; f.remaining <= 0 {
			f.crashed = true
		}
	}
	return err
}

func (f *faultyStore) Get(ctx context.Context, key string) (gamemesh.Item, error) {
	if f.down.Load() {
		return gamemesh.Item{}, errDown
	}
	return f.Store.Get(ctx, key)
}

func (f *faultyStore) Set(ctx context.Context, key string, value []byte, opts gamemesh.SetOptions) error {
	return f.write(key, func() error { return f.Store.Set(ctx, key, value, opts) })
}

func (f *faultyStore) Delete(ctx context.Context, key string, etag string) error {
	return f.write(key, func() error { return f.Store.Delete(ctx, key, etag) })
}

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

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// regInvoker calls straight into a registry, with its checks.
type regInvoker struct{ reg *functions.Registry }

func (i regInvoker) Invoke(ctx context.Context, req gamemesh.Request) ([]byte, error) {
	return i.reg.Call(ctx, req)
}

// env is one guild app with its store, invoker, clock and known players.
type env struct {
	reg    *functions.Registry
	inv    gamemesh.Invoker
	store  gamemesh.Store // the healthy store under the faulty wrapper
	mem    *memStore      // nil on the embedded adapters
	faulty *faultyStore
	clk    *clock
	pushes *pushRecorder

	mu    sync.Mutex
	known map[gamemesh.PlayerID]bool
}

// newEnv runs the guild app on the in-test map store.
func newEnv(t *testing.T, cfg guild.Config) *env {
	t.Helper()
	clk := newClock()
	mem := newMemStore(clk.Now)
	e := &env{reg: functions.NewRegistry(), store: mem, mem: mem, clk: clk}
	e.inv = regInvoker{e.reg}
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
	e := &env{reg: functions.NewRegistry(), store: db.Store(), clk: newClock()}
	e.inv = embedded.NewInvoker(e.reg, nil)
	e.start(t, cfg)
	return e
}

func (e *env) start(t *testing.T, cfg guild.Config) {
	t.Helper()
	e.faulty = &faultyStore{Store: e.store}
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
	out, err := e.do(testCtx(t), leader, "create", &gamev1.CreateGuildRequest{Name: name, Open: open})
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
	if err := e.call(testCtx(t), "", "", "settle", &gamev1.SettleGuildRequest{PlayerId: string(p)}, out); err != nil {
		t.Fatalf("settle %s: %v", p, err)
	}
	return out.GuildId
}

// join puts p in guild id through apply + approve by approver.
func (e *env) join(t *testing.T, id string, approver, p gamemesh.PlayerID) {
	t.Helper()
	ctx := testCtx(t)
	e.must(t, e.onGuild(ctx, p, "apply", id))
	e.must(t, e.target(ctx, approver, "approve", id, p))
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func wantCode(t *testing.T, err error, want gamemesh.Code) {
	t.Helper()
	if got := gamemesh.CodeOf(err); got != want {
		t.Fatalf("code = %v (err %v), want %v", got, err, want)
	}
	var ge *gamemesh.Error
	if want != gamemesh.CodeOK && (!errors.As(err, &ge) || ge.Message == "") {
		t.Fatalf("error %v has no client message", err)
	}
}

func wantErr(t *testing.T, err error, want gamemesh.Code, msg string) {
	t.Helper()
	wantCode(t, err, want)
	if got := gamemesh.MessageOf(err); got != msg {
		t.Fatalf("message %q, want %q", got, msg)
	}
}

func wantSame(t *testing.T, before, after map[string]string) {
	t.Helper()
	if len(before) != len(after) {
		t.Fatalf("store changed: %d keys before, %d after", len(before), len(after))
	}
	for k, v := range before {
		if after[k] != v {
			t.Fatalf("store changed at %s", k)
		}
	}
}
