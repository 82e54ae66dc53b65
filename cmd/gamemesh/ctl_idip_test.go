package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/client"
	"github.com/gamemesh/gamemesh/functions/idip"
	"github.com/gamemesh/gamemesh/gate"
	"github.com/gamemesh/gamemesh/internal/system"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// startEmbedded runs the whole embedded backend in this test process, with
// its IDIP API on a free port.
func startEmbedded(t *testing.T, dataDir string) *system.Embedded {
	t.Helper()
	e, err := system.NewEmbedded(system.EmbeddedConfig{DataDir: dataDir, IDIPAddr: "127.0.0.1:0",
		Gate: gate.Config{TCPAddr: "127.0.0.1:0", WSAddr: "127.0.0.1:0"},
		Lua:  system.LuaConfig{ScriptsDir: "../../scripts"}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		_ = e.Stop(context.Background())
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	return e
}

func TestCtlThroughIDIP(t *testing.T) {
	dir := t.TempDir()
	e := startEmbedded(t, dir)
	url := e.IDIP().URL()
	// The token comes from the data directory's idip.token (or $GAMEMESH_IDIP_TOKEN).
	via := []string{"--idip", url, "--data", dir, "--operator", "carol"}

	if out := mustCtl(t, append(via, "feature", "off", "guild")...); !strings.HasPrefix(out, "guild: off (version 1)\nconverged: 2 processes in ") ||
		!strings.HasSuffix(out, " (gate-1, scene-1)\n") {
		t.Fatalf("feature off through IDIP: %q", out)
	}
	wantRow(t, mustCtl(t, append(via, "feature", "list")...), "guild", "off", "1")
	if out := mustCtl(t, append(via, "setting", "set", "gate.max_online", "20000")...); !strings.HasPrefix(out, "gate.max_online: 20000 (version 1)\nconverged: 2 processes in ") {
		t.Fatalf("setting set through IDIP: %q", out)
	}
	if out := mustCtl(t, append(via, "setting", "get", "gate.max_online")...); out != "gate.max_online: 20000 (version 1)\n" {
		t.Fatalf("setting get through IDIP: %q", out)
	}
	wantRow(t, mustCtl(t, append(via, "setting", "list")...), "gate.max_online", "20000", "10000", "[0,", "1000000]", "-", "1")
	if got := readConfigFile(t, dir)["feature.guild"]; got != "off||1" {
		t.Fatalf("config file after IDIP wrote it: %q", got)
	}
	// The running gate refuses the switched-off system.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tk, err := client.GuestLogin(ctx, "http://"+e.Gate().HTTPAddr(), "ctl-idip-device-1")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := client.Dial(ctx, "tcp://"+e.Gate().Addr(), tk.Ticket, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = conn.Call(ctx, "guild.info", &gamev1.GuildRequest{}, &gamev1.GuildResponse{})
	if gamemesh.CodeOf(err) != gamemesh.CodeFeatureDisabled {
		t.Fatalf("guild.info after feature off through IDIP: %v", err)
	}

	// Scripts: push a changed module, list, roll back.
	mod := filepath.Join(t.TempDir(), "achievement")
	if err := os.MkdirAll(mod, 0o755); err != nil {
		t.Fatal(err)
	}
	src, _ := os.ReadFile("../../scripts/achievement/rules.lua")
	if err := os.WriteFile(filepath.Join(mod, "rules.lua"), append(src, []byte("\n-- patched through IDIP\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	out := mustCtl(t, append(via, "script", "push", mod)...)
	if !strings.HasPrefix(out, "achievement: generation 2, hash ") {
		t.Fatalf("script push through IDIP: %q", out)
	}
	// The running node adopts it, on canary first (as its roster entry
	// reports, within its 5 s refresh).
	hash := strings.TrimSpace(strings.TrimPrefix(out, "achievement: generation 2, hash "))
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		ms, _ := e.Roster().Members(ctx, "gate")
		if len(ms) == 1 && (ms[0].Info["lua:achievement"] == "2:"+hash || ms[0].Info["lua-canary:achievement"] == "2:"+hash) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the node did not adopt generation 2 %s: %+v", hash, ms)
		}
	}
	list := mustCtl(t, append(via, "script", "list", "achievement")...)
	rows := strings.Split(strings.TrimSpace(list), "\n")
	if f := strings.Fields(rows[1]); len(rows) != 3 || f[1] != "2" || f[4] != "carol" || f[len(f)-1] != "*" {
		t.Fatalf("script list through IDIP:\n%s", list)
	}
	if out := mustCtl(t, append(via, "script", "rollback", "achievement")...); !strings.HasPrefix(out, "achievement: rolled back to generation 1") {
		t.Fatalf("rollback through IDIP: %q", out)
	}
	// A broken push is refused locally before anything is sent.
	if err := os.WriteFile(filepath.Join(mod, "rules.lua"), []byte("function on_event( end"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := ctl(append(via, "script", "push", mod)...); code != 1 || !strings.Contains(errOut, "does not compile") {
		t.Fatalf("broken push: exit %d %q", code, errOut)
	}

	// ctl idip: any command, JSON out.
	// Online counts are what the gates announce to the roster (every 5 s).
	var online idip.OnlineResult
	for deadline := time.Now().Add(15 * time.Second); online.Total != 1; time.Sleep(200 * time.Millisecond) {
		if err := json.Unmarshal([]byte(mustCtl(t, append(via, "idip", "online")...)), &online); err != nil || len(online.Gates) != 1 {
			t.Fatalf("ctl idip online: %+v, %v", online, err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("ctl idip online: %+v, want the one player", online)
		}
	}
	var ban idip.SanctionResult
	out = mustCtl(t, append(via, "idip", "player.ban", "player_id="+string(tk.PlayerID), "reason=botting", "duration_s=60", "--serial", "ctl-ban-1")...)
	if err := json.Unmarshal([]byte(out), &ban); err != nil || !ban.Kicked {
		t.Fatalf("ctl idip player.ban: %q, %v", out, err)
	}
	select {
	case <-conn.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the banned player was not kicked")
	}
	if gamemesh.CodeOf(conn.Err()) != gamemesh.CodeBanned {
		t.Fatalf("session ended with %v", conn.Err())
	}
	// The same serial again answers the same (a retried ctl command is safe).
	if again := mustCtl(t, append(via, "idip", "player.ban", "player_id="+string(tk.PlayerID), "reason=botting", "duration_s=60", "--serial", "ctl-ban-1")...); again != out {
		t.Fatalf("retried ban answered %q, first %q", again, out)
	}
	var entries idip.AuditResult
	if err := json.Unmarshal([]byte(mustCtl(t, append(via, "idip", "audit", "command=feature.off")...)), &entries); err != nil ||
		len(entries.Entries) != 1 || entries.Entries[0].Who != "carol" {
		t.Fatalf("ctl idip audit: %+v, %v", entries, err)
	}

	// Refusals: unknown command or bad argument (exit 2, nothing sent), a
	// command the API refuses (exit 1 with its message), a wrong token.
	for _, args := range [][]string{{"idip"}, {"idip", "nosuch"}, {"idip", "notice", "just-text"}} {
		if code, _, errOut := ctl(append(via, args...)...); code != 2 {
			t.Errorf("ctl %q: exit %d, %q", args, code, errOut)
		}
	}
	if code, _, errOut := ctl(append(via, "idip", "grant", "player_id="+string(tk.PlayerID), `items=[{"id":"gold","count":-3}]`)...); code != 1 || !strings.Contains(errOut, "out of range") {
		t.Errorf("negative grant: exit %d, %q", code, errOut)
	}
	t.Setenv(idip.TokenEnv, strings.Repeat("w", 40)+"rong")
	if code, _, errOut := ctl(append(via, "feature", "on", "guild")...); code != 1 || !strings.Contains(errOut, "token") {
		t.Errorf("wrong token: exit %d, %q", code, errOut)
	}
	if got := readConfigFile(t, dir)["feature.guild"]; got != "off||1" {
		t.Fatalf("a refused write changed the switch: %q", got)
	}
}

// Without --idip, ctl reaches the `up` running on the data directory through
// its IDIP API (found in idip.url, token in idip.token): the write is checked
// and audited there, and ctl prints that the node applied it. With no node
// running, ctl writes the watched file itself.
func TestCtlFindsTheRunningNode(t *testing.T) {
	dir := t.TempDir()
	e := startEmbedded(t, dir)
	out := mustCtl(t, "--data", dir, "feature", "off", "guild")
	if !strings.HasPrefix(out, "guild: off (version 1)\nconverged: 2 processes in ") {
		t.Fatalf("feature off on a running node: %q", out)
	}
	var audit idip.AuditResult
	cli := &idip.Client{URL: e.IDIP().URL(), Token: readToken(t, dir)}
	if _, err := cli.Get(context.Background(), "audit", nil, &audit); err != nil || len(audit.Entries) == 0 || audit.Entries[0].Command != "feature.off" {
		t.Fatalf("the write did not go through IDIP: %+v, %v", audit, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if out := mustCtl(t, "--data", dir, "feature", "on", "guild"); out != "guild: on (version 2)\n" {
		t.Fatalf("feature on with no node running: %q", out)
	}
}

func readToken(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(system.IDIPTokenPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}
