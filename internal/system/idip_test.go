package system

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	"github.com/gamemesh/gamemesh/functions/idip"
	"github.com/gamemesh/gamemesh/gate"
	"github.com/gamemesh/gamemesh/luavm"
)

func newIDIPNode(t *testing.T, dir string) (*Embedded, error) {
	t.Helper()
	e, err := NewEmbedded(EmbeddedConfig{DataDir: dir, IDIPAddr: "127.0.0.1:0", Gate: gate.Config{TCPAddr: "127.0.0.1:0", WSAddr: "127.0.0.1:0"},
		Lua: LuaConfig{ScriptsDir: filepath.Join("..", "..", "scripts")}}, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	if err := e.Start(context.Background()); err != nil {
		_ = e.Stop(context.Background())
		return nil, err
	}
	return e, nil
}

func stopNode(t *testing.T, e *Embedded) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Stop(ctx); err != nil {
		t.Error(err)
	}
}

func TestEmbeddedIDIPTokenIsGeneratedOnceAndPrivate(t *testing.T) {
	dir := t.TempDir()
	e, err := newIDIPNode(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	path := IDIPTokenPath(dir)
	if e.IDIPTokenSource != path+" (generated)" {
		t.Fatalf("token source %q", e.IDIPTokenSource)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, mode %v; want 0600", err, st.Mode())
	}
	raw, _ := os.ReadFile(path)
	tok := strings.TrimSpace(string(raw))
	ctx := context.Background()
	cli := &idip.Client{URL: e.IDIP().URL(), Token: tok}
	var online idip.OnlineResult
	if _, err := cli.Get(ctx, "online", nil, &online); err != nil || len(online.Gates) != 1 || online.Gates[0].ID != "gate-1" {
		t.Fatalf("online with the generated token: %+v, %v", online, err)
	}
	if _, err := (&idip.Client{URL: e.IDIP().URL(), Token: strings.Repeat("0", 64)}).Get(ctx, "online", nil, nil); gamemesh.CodeOf(err) != gamemesh.CodeNotLoggedIn {
		t.Fatalf("a wrong token: %v", err)
	}
	stopNode(t, e)

	// A restart keeps the token.
	e, err = newIDIPNode(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if e.IDIPTokenSource != path {
		t.Fatalf("token source after a restart %q, want the file", e.IDIPTokenSource)
	}
	if _, err := (&idip.Client{URL: e.IDIP().URL(), Token: tok}).Get(ctx, "online", nil, nil); err != nil {
		t.Fatalf("the token changed across a restart: %v", err)
	}
	stopNode(t, e)

	// A weak token in the file is refused: the node does not start.
	if err := os.WriteFile(path, []byte("admin\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := newIDIPNode(t, dir); err == nil || !strings.Contains(err.Error(), "idip.token") {
		t.Fatalf("weak token file: %v, want a refusal naming the file", err)
	}
}

func TestLockedFileConfigWaitsForCtlsLock(t *testing.T) {
	d := openLuaData(t, t.TempDir())
	c := lockedFileConfig{fc: d.fc, lock: ConfigLockPath(d.dir)}
	unlock, err := LockFile(context.Background(), c.lock, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 1)
	go func() {
		v, err := c.Set(context.Background(), "feature.guild", "off")
		if err != nil {
			v = err.Error()
		}
		done <- v
	}()
	select {
	case v := <-done:
		t.Fatalf("Set went through a held lock (%s)", v)
	case <-time.After(100 * time.Millisecond):
	}
	unlock()
	if v := <-done; v != "1" {
		t.Fatalf("Set after the lock was released: %q", v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	unlock, _ = LockFile(context.Background(), c.lock, time.Millisecond)
	defer unlock()
	if _, err := c.Set(ctx, "feature.guild", "on"); gamemesh.CodeOf(err) != gamemesh.CodeUnavailable {
		t.Fatalf("Set with the lock held past its deadline: %v, want UNAVAILABLE", err)
	}
	if items, _ := c.Prefixed(context.Background(), "feature."); items["feature.guild"].Value != "off" || len(items) != 1 {
		t.Fatalf("Prefixed = %v", items)
	}
}

func TestIDIPScriptsOverThePublisher(t *testing.T) {
	ctx := context.Background()
	pool, err := newScriptChecker(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	store := functionstest.NewMemStore(time.Now)
	d := openLuaData(t, t.TempDir())
	cfg := lockedFileConfig{fc: d.fc, lock: ConfigLockPath(d.dir)}
	s := idipScripts{pub: luavm.NewPublisher(store, configRW{d.fc, luaWriter{set: cfg.Set}}, pool, nil), config: cfg}

	rules, err := os.ReadFile(filepath.Join("..", "..", "scripts", "achievement", "rules.lua"))
	if err != nil {
		t.Fatal(err)
	}
	before := store.Snapshot()
	for name, files := range map[string][]idip.ScriptFile{
		"syntax error":    {{Name: "rules.lua", Source: "function on_event( end"}},
		"missing exports": {{Name: "rules.lua", Source: "x = 1"}},
		"bad file name":   {{Name: "../rules.lua", Source: string(rules)}},
	} {
		if _, err := s.Push(ctx, "achievement", files, "t", "test"); gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
			t.Errorf("%s: %v, want INVALID_ARGUMENT", name, err)
		}
	}
	functionstest.WantSame(t, before, store.Snapshot())
	gen, err := s.Push(ctx, "achievement", []idip.ScriptFile{{Name: "rules.lua", Source: string(rules)}}, "dave", "idip")
	if err != nil || gen.Number != 1 || gen.By != "dave" || len(gen.Hash) != 64 {
		t.Fatalf("push: %+v, %v", gen, err)
	}
	h, err := s.History(ctx, "achievement")
	if err != nil || h.Active != gen.Hash || len(h.Generations) != 1 || len(h.Activations) != 1 || h.Activations[0].Action != "push" {
		t.Fatalf("history: %+v, %v", h, err)
	}
	if mods, err := s.Modules(ctx); err != nil || !slices.Contains(mods, "achievement") {
		t.Fatalf("modules: %v, %v", mods, err)
	}
	if _, err := s.Rollback(ctx, "achievement", 7, "dave"); gamemesh.CodeOf(err) != gamemesh.CodeNotFound {
		t.Fatalf("rollback to a missing generation: %v", err)
	}
}
