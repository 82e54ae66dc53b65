package system

import (
	"context"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh/client"
	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/gate"
	"github.com/gamemesh/gamemesh/luavm"
)

// The embedded process announces its gate with what it runs: players online,
// the versions of the configuration keys it applied (a switch flipped shows
// up at once, not at the next interval) and its Lua generations.
func TestEmbeddedAnnouncesItselfWithVersions(t *testing.T) {
	e, err := NewEmbedded(EmbeddedConfig{DataDir: t.TempDir(), Gate: gate.Config{TCPAddr: "127.0.0.1:0", WSAddr: "127.0.0.1:0"},
		Lua: LuaConfig{ScriptsDir: filepath.Join("..", "..", "scripts")}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := e.Stop(sctx); err != nil {
			t.Error(err)
		}
		if ms, _ := e.Roster().Members(ctx, ""); len(ms) != 0 {
			t.Errorf("a stopped process is still in the roster: %+v", ms)
		}
	}()
	conn, err := dialPlayer(t, e, "roster-device-1", client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	version, err := e.config.Set("feature.guild", "off")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		ms, err := e.Roster().Members(ctx, directory.KindGate)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 1 && ms[0].ID == "gate-1" && ms[0].Info[directory.InfoConfigPrefix+"feature.guild"] == version &&
			ms[0].Info[directory.InfoOnline] == "1" && strings.HasPrefix(ms[0].Info[directory.InfoLuaPrefix+"achievement"], "1:") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("roster = %+v, want gate-1 with feature.guild at version %s, 1 online, achievement generation 1", ms, version)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A new Lua generation is announced at once too, well before the
	// announcer's next period (5 s).
	b, err := luavm.NewBundle("achievement", []luavm.File{{Name: "rules.lua",
		Source: "function on_event(e, progress) return {}, {} end\nfunction self_test() return true end"}})
	if err != nil {
		t.Fatal(err)
	}
	gen, err := e.lua.Pool().Patch(ctx, b, luavm.PatchOptions{By: "test", SkipCanary: true})
	if err != nil {
		t.Fatal(err)
	}
	want := strconv.Itoa(gen.Number) + ":" + gen.Hash
	deadline = time.Now().Add(time.Second)
	for {
		ms, err := e.Roster().Members(ctx, directory.KindGate)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 1 && ms[0].Info[directory.InfoLuaPrefix+"achievement"] == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("roster = %+v a second after a patch, want achievement at %s", ms, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
