package system

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh/client"
	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/gate"
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
}
