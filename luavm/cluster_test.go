package luavm

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/embedded"
)

type clusterEnv struct {
	store gamemesh.Store
	cfg   *embedded.FileConfig
	dir   string
}

func newClusterEnv(t *testing.T) *clusterEnv {
	t.Helper()
	dir := t.TempDir()
	db, err := embedded.Open(filepath.Join(dir, "mesh.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	cfg, err := embedded.OpenFileConfig(filepath.Join(dir, "config.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cfg.Close() })
	return &clusterEnv{store: db.Store(), cfg: cfg, dir: dir}
}

// host is one game host: a pool and its follower.
func (e *clusterEnv) host(t *testing.T) *Pool {
	t.Helper()
	p := startPool(t, Options{Required: RequiredExports, Canary: CanaryPolicy{Disabled: true}})
	f, err := NewFollower(p, e.store, e.cfg, FollowerOptions{Modules: []string{"achievement"}, Reread: 50 * time.Millisecond, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(context.Background()); err != nil {
		t.Fatalf("follower start: %v", err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return p
}

func achievementSrc(tier string) string {
	return `
function on_event(e, progress) return {tier = "` + tier + `"}, {} end
function self_test() return true end`
}

func achBundle(t *testing.T, tier string) *Bundle {
	t.Helper()
	b, err := NewBundle("achievement", []File{{Name: "rules.lua", Source: achievementSrc(tier)}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func tierOf(t *testing.T, p *Pool) (string, Generation) {
	t.Helper()
	vals, gen, err := p.Call(ctxT(t), "achievement", "on_event", map[string]any{"kind": "x"}, nil)
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	return vals[0].(map[string]any)["tier"].(string), gen
}

func waitActive(t *testing.T, p *Pool, hash string) {
	t.Helper()
	waitFor(t, "host converges on "+short(hash), func() bool { a, ok := p.Active("achievement"); return ok && a.Hash == hash })
}

func TestClusterHostsConvergeAndRestartOnPatchedGeneration(t *testing.T) {
	env := newClusterEnv(t)
	checker := startPool(t, Options{Required: RequiredExports})
	pub := NewPublisher(env.store, env.cfg, checker, testLogger(t))
	ctx := ctxT(t)

	g1, err := pub.Push(ctx, achBundle(t, "one"), "alice", "ctl push")
	if err != nil {
		t.Fatal(err)
	}
	hostA := env.host(t)
	hostB := env.host(t)
	waitActive(t, hostA, g1.Hash)
	waitActive(t, hostB, g1.Hash)

	g2, err := pub.Push(ctx, achBundle(t, "two"), "bob", "ctl push")
	if err != nil || g2.Number != 2 {
		t.Fatalf("push 2: %v %v", g2, err)
	}
	waitActive(t, hostA, g2.Hash)
	waitActive(t, hostB, g2.Hash)
	if tier, gen := tierOf(t, hostA); tier != "two" || gen.Number != 2 || gen.By != "bob" {
		t.Fatalf("host A: %s %v", tier, gen)
	}

	// A host started after the push comes up on the pushed generation.
	hostC := env.host(t)
	if a, ok := hostC.Active("achievement"); !ok || a.Hash != g2.Hash || a.Number != 2 {
		t.Fatalf("late host active = %v %v, want %v", a, ok, g2)
	}
	if tier, _ := tierOf(t, hostC); tier != "two" {
		t.Fatalf("late host serves %s", tier)
	}

	// Rollback through the cluster restores the old behaviour everywhere,
	// with the same generation numbers on every host.
	back, err := pub.Rollback(ctx, "achievement", 0, "carol")
	if err != nil || back.Number != 1 {
		t.Fatalf("rollback: %v %v", back, err)
	}
	for _, h := range []*Pool{hostA, hostB, hostC} {
		waitActive(t, h, g1.Hash)
		if tier, gen := tierOf(t, h); tier != "one" || gen.Number != 1 {
			t.Errorf("after rollback: %s %v", tier, gen)
		}
	}
	// ... and forward again by number.
	if _, err := pub.Rollback(ctx, "achievement", 2, "carol"); err != nil {
		t.Fatal(err)
	}
	waitActive(t, hostA, g2.Hash)
	waitActive(t, hostC, g2.Hash)

	h, err := pub.History(ctx, "achievement")
	if err != nil || len(h.Generations) != 2 || h.Active != g2.Hash || len(h.Activations) != 4 {
		t.Fatalf("history: %+v %v", h, err)
	}
	if _, err := pub.Rollback(ctx, "achievement", 7, "carol"); !errors.Is(err, gamemesh.ErrNotFound) {
		t.Errorf("rollback to an unknown generation: %v", err)
	}
}

func TestClusterRefusesBadPushes(t *testing.T) {
	env := newClusterEnv(t)
	checker := startPool(t, Options{Required: RequiredExports})
	pub := NewPublisher(env.store, env.cfg, checker, testLogger(t))
	ctx := ctxT(t)
	g1, err := pub.Push(ctx, achBundle(t, "one"), "alice", "ctl push")
	if err != nil {
		t.Fatal(err)
	}
	host := env.host(t)
	waitActive(t, host, g1.Hash)

	// The publisher's checker refuses a bundle without the required export:
	// nothing is published.
	bad, _ := NewBundle("achievement", []File{{Name: "rules.lua", Source: `function other() end`}})
	if _, err := pub.Push(ctx, bad, "mallory", "ctl push"); gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument ||
		!strings.Contains(errText(err), "on_event") {
		t.Fatalf("bad push: %v", err)
	}
	if h, _ := pub.History(ctx, "achievement"); len(h.Generations) != 1 || h.Active != g1.Hash {
		t.Fatalf("a refused push changed the history: %+v", h)
	}

	// A publisher without a checker lets it through; the host refuses it and
	// keeps serving generation 1.
	blind := NewPublisher(env.store, env.cfg, nil, testLogger(t))
	g2, err := blind.Push(ctx, bad, "mallory", "ctl push")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // several re-reads
	if a, _ := host.Active("achievement"); a.Hash != g1.Hash {
		t.Fatalf("host adopted a bundle its checks refuse: %v", a)
	}
	if tier, _ := tierOf(t, host); tier != "one" {
		t.Fatalf("host serves %s", tier)
	}
	// A corrupt stored bundle (hash mismatch) is refused too.
	if err := env.store.Set(ctx, bundleKey("achievement", strings.Repeat("0", 64)), []byte(`{"module":"achievement","files":[{"name":"rules.lua","source":"function on_event() end"}]}`), gamemesh.SetOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.cfg.Set(ConfigKey("achievement"), strings.Repeat("0", 64)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if a, _ := host.Active("achievement"); a.Hash != g1.Hash {
		t.Fatalf("host adopted a corrupt bundle: %v", a)
	}
	// A good push afterwards is adopted.
	g3, err := pub.Push(ctx, achBundle(t, "three"), "alice", "ctl push")
	if err != nil || g3.Number != g2.Number+1 {
		t.Fatalf("push 3: %v %v", g3, err)
	}
	waitActive(t, host, g3.Hash)
	if _, err := pub.Push(ctx, nil, "x", "y"); gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
		t.Errorf("nil bundle: %v", err)
	}
}

func TestClusterCanaryRollbackIsNotReadopted(t *testing.T) {
	env := newClusterEnv(t)
	pub := NewPublisher(env.store, env.cfg, nil, testLogger(t))
	ctx := ctxT(t)
	g1, err := pub.Push(ctx, achBundle(t, "one"), "alice", "ctl push")
	if err != nil {
		t.Fatal(err)
	}
	host := startPool(t, Options{Required: RequiredExports, Canary: CanaryPolicy{Share: 0.5, MinCalls: 10, Calls: 10000, Duration: time.Minute}})
	f, err := NewFollower(host, env.store, env.cfg, FollowerOptions{Modules: []string{"achievement"}, Reread: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	waitActive(t, host, g1.Hash)

	broken, _ := NewBundle("achievement", []File{{Name: "rules.lua", Source: `
function on_event(e) if e.kind == "x" then error("broken") end return {}, {} end
function self_test() return true end`}})
	g2, err := pub.Push(ctx, broken, "mallory", "ctl push")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the canary", func() bool { c, ok := host.Canary("achievement"); return ok && c.Hash == g2.Hash })
	for i := 0; i < 500; i++ {
		if _, ok := host.Canary("achievement"); !ok {
			break
		}
		_, _, _ = host.Call(ctx, "achievement", "on_event", map[string]any{"kind": "x"}, nil)
	}
	if a, _ := host.Active("achievement"); a.Hash != g1.Hash {
		t.Fatalf("active after the canary = %v", a)
	}
	time.Sleep(150 * time.Millisecond) // several re-reads of a key that still names g2
	if a, _ := host.Active("achievement"); a.Hash != g1.Hash {
		t.Fatalf("the host re-adopted a generation its canary rolled back: %v", a)
	}
	if _, ok := host.Canary("achievement"); ok {
		t.Fatal("the host retried the canary")
	}
	// A fixed push is adopted.
	g3, err := pub.Push(ctx, achBundle(t, "three"), "alice", "ctl push")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the fixed canary", func() bool { c, ok := host.Canary("achievement"); return ok && c.Hash == g3.Hash })
}

// A cluster whose hosts run their shipped scripts: the first push records
// them as generation 1, so that rolling the push back returns every host to
// the shipped scripts. Without a baseline there is nothing to roll back to.
func TestClusterFirstPushRollsBackToTheBaseline(t *testing.T) {
	env := newClusterEnv(t)
	ctx := ctxT(t)
	shipped := achBundle(t, "shipped")
	host := env.host(t)
	if _, err := host.Patch(ctx, shipped, PatchOptions{By: "bootstrap", Source: "local:scripts", SkipCanary: true}); err != nil {
		t.Fatal(err)
	}
	pub := NewPublisher(env.store, env.cfg, nil, testLogger(t))
	pub.SetBaseline("local:/scripts", shipped)

	g, err := pub.Push(ctx, achBundle(t, "patched"), "alice", "ctl push")
	if err != nil || g.Number != 2 {
		t.Fatalf("first push: %v %v, want generation 2 (1 is the baseline)", g, err)
	}
	waitActive(t, host, g.Hash)
	h, err := pub.History(ctx, "achievement")
	if err != nil || len(h.Generations) != 2 || h.Generations[0].Hash != shipped.Hash() || h.Generations[0].By != "baseline" ||
		h.Activations[0].Action != "baseline" {
		t.Fatalf("history after the first push: %+v %v", h, err)
	}
	back, err := pub.Rollback(ctx, "achievement", 0, "alice")
	if err != nil || back.Number != 1 || back.Hash != shipped.Hash() {
		t.Fatalf("rollback: %v %v, want generation 1 (the shipped scripts)", back, err)
	}
	waitActive(t, host, shipped.Hash())
	if tier, _ := tierOf(t, host); tier != "shipped" {
		t.Fatalf("after the rollback the host serves %q", tier)
	}
	// Later pushes number on; the baseline is recorded once.
	g3, err := pub.Push(ctx, achBundle(t, "again"), "alice", "ctl push")
	if h, _ := pub.History(ctx, "achievement"); err != nil || g3.Number != 3 || len(h.Generations) != 3 {
		t.Fatalf("third push: %v %v, history %+v", g3, err, h)
	}
	// Pushing the shipped scripts themselves records no separate baseline.
	env2 := newClusterEnv(t)
	pub2 := NewPublisher(env2.store, env2.cfg, nil, testLogger(t))
	pub2.SetBaseline("local:/scripts", shipped)
	if g, err := pub2.Push(ctx, shipped, "alice", "ctl push"); err != nil || g.Number != 1 {
		t.Fatalf("pushing the baseline itself: %v %v", g, err)
	}
	// No baseline: rolling back the only generation has nothing to go to.
	env3 := newClusterEnv(t)
	pub3 := NewPublisher(env3.store, env3.cfg, nil, testLogger(t))
	if _, err := pub3.Push(ctx, achBundle(t, "patched"), "alice", "ctl push"); err != nil {
		t.Fatal(err)
	}
	if _, err := pub3.Rollback(ctx, "achievement", 0, "alice"); gamemesh.CodeOf(err) != gamemesh.CodeNotFound {
		t.Fatalf("rollback with no earlier generation: %v, want NOT_FOUND", err)
	}
}
