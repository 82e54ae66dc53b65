package system

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/embedded"
	"github.com/gamemesh/gamemesh/luavm"
)

// luaData is a data directory's bbolt file and config file.
type luaData struct {
	dir string
	db  *embedded.DB
	fc  *embedded.FileConfig
}

func openLuaData(t *testing.T, dir string) *luaData {
	t.Helper()
	db, err := embedded.Open(DBPath(dir), embedded.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	fc, err := embedded.OpenFileConfig(ConfigPath(dir), slog.New(slog.DiscardHandler))
	if err != nil {
		_ = db.Close()
		t.Fatal(err)
	}
	d := &luaData{dir: dir, db: db, fc: fc}
	t.Cleanup(func() { d.close() })
	return d
}

func (d *luaData) close() {
	if d.fc != nil {
		_ = d.fc.Close()
		_ = d.db.Close()
		d.fc, d.db = nil, nil
	}
}

func greetSource(v string) string { return "function hello() return \"" + v + "\" end\n" }

// writeModule writes scripts/<module>/hello.lua under root.
func writeModule(t *testing.T, root, module, src string) string {
	t.Helper()
	dir := filepath.Join(root, module)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "hello.lua"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func startLua(t *testing.T, d *luaData, cfg LuaConfig) *Lua {
	t.Helper()
	cfg.Canary = luavm.CanaryPolicy{Disabled: true}
	cfg.Reread = 100 * time.Millisecond
	l, err := NewLua(cfg, LuaDeps{Store: d.db.Store(), Config: d.fc, ConfigWriter: d.fc})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Start(context.Background()); err != nil {
		_ = l.Stop(context.Background())
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Stop(context.Background()) })
	return l
}

// hello calls greet.hello once.
func hello(t *testing.T, l *Lua) (string, luavm.Generation) {
	t.Helper()
	res, gen, err := l.CallBatch(context.Background(), "greet", []luavm.Call{{Fn: "hello"}})
	if err != nil {
		t.Fatalf("call: %v", err)
	}
	if res[0].Err != nil {
		t.Fatalf("hello: %v", res[0].Err)
	}
	return res[0].Values[0].(string), gen
}

// waitHello waits (bounded) until greet.hello answers want.
func waitHello(t *testing.T, l *Lua, want string) luavm.Generation {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, gen := hello(t, l)
		if got == want {
			return gen
		}
		if time.Now().After(deadline) {
			t.Fatalf("hello = %q on %v, want %q", got, gen, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// push publishes source as module greet through the node's Publisher (what
// IDIP's script.push and ctl do).
func push(t *testing.T, l *Lua, source, by string) (luavm.Generation, error) {
	t.Helper()
	b, err := luavm.NewBundle("greet", []luavm.File{{Name: "hello.lua", Source: source}})
	if err != nil {
		return luavm.Generation{}, gamemesh.Wrap(gamemesh.CodeInvalidArgument, err, err.Error())
	}
	return l.pub.Push(context.Background(), b, by, "test")
}

func TestLuaPushRefuseRestartRollback(t *testing.T) {
	dataDir, scripts := t.TempDir(), t.TempDir()
	writeModule(t, scripts, "greet", greetSource("v1"))
	d := openLuaData(t, dataDir)
	cfg := LuaConfig{ScriptsDir: scripts}
	l := startLua(t, d, cfg)
	if gen := waitHello(t, l, "v1"); gen.Number != 1 || gen.By != "bootstrap" {
		t.Fatalf("bootstrap generation %+v", gen)
	}

	if _, err := push(t, l, greetSource("v2"), "alice"); err != nil {
		t.Fatalf("push: %v", err)
	}
	if gen := waitHello(t, l, "v2"); gen.Number != 2 || gen.By != "alice" {
		t.Fatalf("pushed generation %+v", gen)
	}

	if _, err := push(t, l, "function hello( return 1 end", "mallory"); err == nil || !strings.Contains(err.Error(), "does not compile") {
		t.Fatalf("broken push: %v", err)
	}
	// A bundle failing its self-test is refused too.
	if _, err := push(t, l, greetSource("v3")+"function self_test() return false end\n", "mallory"); gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
		t.Fatalf("self-test failing push: %v", err)
	}
	time.Sleep(150 * time.Millisecond) // more than one re-read period
	if got, gen := hello(t, l); got != "v2" || gen.Number != 2 {
		t.Fatalf("after refused pushes: %q on %v", got, gen)
	}
	h, err := l.pub.History(context.Background(), "greet")
	if err != nil || len(h.Generations) != 2 || h.Active != h.Generations[1].Hash {
		t.Fatalf("history: %+v, %v", h, err)
	}

	// Restart: a fresh component on the same data comes back on gen 2.
	if err := l.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	l = startLua(t, d, cfg)
	if got, gen := hello(t, l); got != "v2" || gen.Number != 2 {
		t.Fatalf("after restart: %q on %v", got, gen)
	}

	if _, err := l.pub.Rollback(context.Background(), "greet", 0, "bob"); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if gen := waitHello(t, l, "v1"); gen.Number != 1 {
		t.Fatalf("rolled back to %+v", gen)
	}
	if _, err := l.pub.Rollback(context.Background(), "greet", 9, "bob"); gamemesh.CodeOf(err) != gamemesh.CodeNotFound {
		t.Fatalf("rollback to a missing generation: %v", err)
	}
}

func TestLuaBootstrapsRepositoryScripts(t *testing.T) {
	d := openLuaData(t, t.TempDir())
	l := startLua(t, d, LuaConfig{ScriptsDir: filepath.Join("..", "..", "scripts")})
	ev := map[string]any{"kind": "monster_killed", "count": int64(10)}
	res, gen, err := l.CallBatch(context.Background(), "achievement", []luavm.Call{{Fn: "on_event", Args: []any{ev, nil}}})
	if err != nil || res[0].Err != nil {
		t.Fatalf("on_event: %v %v", err, res)
	}
	if gen.Number != 1 || gen.By != "bootstrap" {
		t.Fatalf("generation %+v", gen)
	}
	if unlocks, _ := res[0].Values[1].([]any); len(unlocks) != 1 {
		t.Fatalf("unlocks %v", res[0].Values)
	}
}

func TestLuaWatchPushesThroughTheStore(t *testing.T) {
	scripts := t.TempDir()
	writeModule(t, scripts, "greet", greetSource("v1"))
	d := openLuaData(t, t.TempDir())
	l := startLua(t, d, LuaConfig{ScriptsDir: scripts, Watch: true, WatchPoll: 20 * time.Millisecond})
	waitHello(t, l, "v1")
	writeModule(t, scripts, "greet", "function hello( broken")
	time.Sleep(100 * time.Millisecond)
	if got, _ := hello(t, l); got != "v1" {
		t.Fatalf("broken file served: %q", got)
	}
	writeModule(t, scripts, "greet", greetSource("v2"))
	if gen := waitHello(t, l, "v2"); gen.By != "fswatch" || gen.Number != 2 {
		t.Fatalf("watched generation %+v", gen)
	}
	// The store holds it: another node on the same data adopts it.
	h, err := luavm.NewPublisher(d.db.Store(), configRW{d.fc, d.fc}, nil, nil).History(context.Background(), "greet")
	if err != nil || len(h.Generations) != 2 {
		t.Fatalf("history %+v %v", h, err)
	}
}

func TestNewLuaNeedsPorts(t *testing.T) {
	if _, err := NewLua(LuaConfig{}, LuaDeps{}); err == nil {
		t.Fatal("NewLua without ports succeeded")
	}
}

// A node that can only follow (no config writer, as in Dapr mode) serves its
// scripts folder from the start, and adopts the cluster's bundle once another
// node publishes one.
func TestLuaFollowOnlyServesLocalThenCluster(t *testing.T) {
	d := openLuaData(t, t.TempDir())
	scripts := t.TempDir()
	writeModule(t, scripts, "greet", greetSource("local"))
	l, err := NewLua(LuaConfig{ScriptsDir: scripts, Canary: luavm.CanaryPolicy{Disabled: true}, Reread: 100 * time.Millisecond},
		LuaDeps{Store: d.db.Store(), Config: d.fc})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Stop(context.Background()) })
	if got, _ := hello(t, l); got != "local" {
		t.Fatalf("follow-only node serves %q before any cluster bundle, want the local folder's", got)
	}
	// Another node (with a writer) publishes a bundle for the cluster.
	other := t.TempDir()
	writeModule(t, other, "greet", greetSource("cluster"))
	startLua(t, d, LuaConfig{ScriptsDir: other})
	waitHello(t, l, "cluster")
}
