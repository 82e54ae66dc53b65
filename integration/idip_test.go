//go:build integration

package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/client"
	"github.com/gamemesh/gamemesh/dapr"
	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/directory/redisdir"
	"github.com/gamemesh/gamemesh/functions/idip"
	"github.com/gamemesh/gamemesh/luavm"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// buildGamemesh builds the gamemesh binary for tests that run it as
// separate processes, the way operators run it.
func buildGamemesh(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gamemesh")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/gamemesh")
	cmd.Dir = repoRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// meshProc is one gamemesh process behind its own daprd.
type meshProc struct {
	sidecar *Sidecar
	proc    *proc
	logs    *logBuffer
}

// startBinary starts a sidecar for appID and then `gamemesh args...` as its
// app (app channel on a free port passed as --app-addr), and waits until the
// sidecar sees the app.
func startBinary(t *testing.T, bin string, r *Redis, appID, config string, sidecarEnv []string, args ...string) *meshProc {
	t.Helper()
	appPort := freePort(t)
	sc := StartSidecar(t, r, SidecarOptions{AppID: appID, Config: config, AppPort: appPort, BeforeApp: true, Env: sidecarEnv})
	logs := &logBuffer{max: 512 << 10}
	dumpLogsOnFailure(t, "gamemesh "+appID, logs)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "REDIS_HOST=" + r.Addr(),
		"DAPR_GRPC_PORT=" + strconv.Itoa(sc.GRPCPort)}
	args = append(args, "--app-addr", "127.0.0.1:"+strconv.Itoa(appPort), "--log-level", "info")
	p := start(t, "gamemesh "+appID, bin, args, env, logs)
	sc.WaitHealthy()
	if p.exited() {
		t.Fatalf("gamemesh %s exited: %v\n%s", appID, p.err, logs)
	}
	return &meshProc{sidecar: sc, proc: p, logs: logs}
}

// TestIDIPAsADaprApp runs Dapr mode as operators do, each part its own
// process behind its own daprd: `gamemesh fn` (login, mail, player, guild,
// achievement), `gamemesh gate`, and `gamemesh fn --only idip` with its
// admin token from the secret store. Through IDIP: an unauthenticated call
// is refused and audited; a ban kicks the player from the gate process and
// blocks its next login; a replayed serial answers identically; a feature
// switch reaches the gate; a notice reaches the player; `gamemesh ctl script
// push --idip` publishes a bundle that the functions process (a Follower in
// another process) adopts. mail.all and grant are not run here: their mail
// handlers are another branch's (they are tested against the contract with a
// registry double in functions/idip).
func TestIDIPAsADaprApp(t *testing.T) {
	bin := buildGamemesh(t)
	r := StartRedis(t)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	ticketEnv := "GAMEMESH_SECRET_TICKET_KEY=" + hex.EncodeToString(key)
	tokRaw := make([]byte, 24)
	_, _ = rand.Read(tokRaw)
	token := hex.EncodeToString(tokRaw)
	scripts := filepath.Join(repoRoot(t), "scripts")

	fn := startBinary(t, bin, r, "functions", "", []string{ticketEnv}, "fn", "--id", "functions-it", "--scripts", scripts)
	gateTCP, gateHTTP := freePort(t), freePort(t)
	startBinary(t, bin, r, "gate", "gate.yaml", []string{ticketEnv}, "gate", "--id", "gate-1",
		"--tcp", "127.0.0.1:"+strconv.Itoa(gateTCP), "--http", "127.0.0.1:"+strconv.Itoa(gateHTTP))
	idipPort := freePort(t)
	startBinary(t, bin, r, "idip", "idip.yaml", []string{"GAMEMESH_SECRET_IDIP_ADMIN_TOKEN=" + token},
		"fn", "--only", "idip", "--id", "idip-it", "--idip-addr", "127.0.0.1:"+strconv.Itoa(idipPort), "--scripts", scripts)
	base := "http://127.0.0.1:" + strconv.Itoa(idipPort)
	if !waitUntil(20*time.Second, func() bool {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusNoContent
	}) {
		t.Fatal("the IDIP API did not come up")
	}
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)
	cli := &idip.Client{URL: base, Token: token, Operator: "it-operator", HTTP: hc}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// The mesh cannot invoke IDIP through its sidecar (idip.yaml denies it;
	// defence in depth, the token is what protects IDIP).
	inv := dapr.NewInvoker(fn.sidecar.Client(t), dapr.InvokerOptions{AppIDs: map[string]string{"idip": "idip"}})
	_, err := inv.Invoke(ctx, gamemesh.Request{App: "idip", Method: "player", ID: gamemesh.NewID()})
	if err == nil || !strings.Contains(err.Error(), "access control policy has denied") {
		t.Errorf("invoking idip through the mesh: %v, want a refusal by its access control policy", err)
	}

	// No token: 401, audited in the real state store.
	resp, err := hc.Post(base+idip.Path("notice"), "application/json", strings.NewReader(`{"serial":"x-1","text":"hi"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token: %d", resp.StatusCode)
	}
	var audit idip.AuditResult
	if _, err := cli.Get(ctx, "audit", nil, &audit); err != nil || len(audit.Entries) != 1 || audit.Entries[0].Status != 401 {
		t.Fatalf("audit after a refused call: %+v, %v", audit, err)
	}

	// A player on the gate process.
	login := "http://127.0.0.1:" + strconv.Itoa(gateHTTP)
	gateAddr := "tcp://127.0.0.1:" + strconv.Itoa(gateTCP)
	tk, err := client.GuestLogin(ctx, login, "idip-it-device-1")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var notices []*gamev1.ServerNotice
	conn, err := client.Dial(ctx, gateAddr, tk.Ticket, client.Options{OnPush: func(route string, body []byte) {
		var n gamev1.ServerNotice
		if route == directory.NoticePushRoute && proto.Unmarshal(body, &n) == nil {
			mu.Lock()
			notices = append(notices, &n)
			mu.Unlock()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Call(ctx, "guild.info", &gamev1.GuildRequest{}, &gamev1.GuildResponse{}); gamemesh.CodeOf(err) == gamemesh.CodeFeatureDisabled {
		t.Fatalf("guild is off before IDIP switched it: %v", err)
	}

	// Feature switch through IDIP reaches the gate process.
	began := time.Now()
	if _, err := cli.Post(ctx, "feature.off", idip.FeatureRequest{Mutation: idip.Mutation{Serial: "it-guild-off"}, System: "guild"}, nil); err != nil {
		t.Fatal(err)
	}
	if !waitUntil(15*time.Second, func() bool {
		err := conn.Call(ctx, "guild.info", &gamev1.GuildRequest{}, &gamev1.GuildResponse{})
		return gamemesh.CodeOf(err) == gamemesh.CodeFeatureDisabled
	}) {
		t.Fatal("the gate did not refuse guild after IDIP switched it off")
	}
	t.Logf("feature.off through IDIP refused at the gate after %v", time.Since(began).Round(time.Millisecond))
	if _, err := cli.Post(ctx, "feature.on", idip.FeatureRequest{Mutation: idip.Mutation{Serial: "it-guild-on"}, System: "guild"}, nil); err != nil {
		t.Fatal(err)
	}

	// Notice: through Dapr pub/sub to the gate, to the player.
	if _, err := cli.Post(ctx, "notice", idip.NoticeRequest{Mutation: idip.Mutation{Serial: "it-notice"}, Text: "Dapr mode says hello"}, nil); err != nil {
		t.Fatal(err)
	}
	if !waitUntil(10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(notices) == 1 && notices[0].GetText() == "Dapr mode says hello"
	}) {
		t.Fatalf("notice not received: %v", notices)
	}

	// Mail one, with an attachment, through the real mail function.
	var sent idip.MailResult
	if _, err := cli.Post(ctx, "mail", idip.MailRequest{Mutation: idip.Mutation{Serial: "it-mail"}, PlayerID: string(tk.PlayerID), Subject: "Compensation",
		Attachments: []idip.Item{{ID: "gold", Count: 100}}}, &sent); err != nil {
		t.Fatal(err)
	}
	var box gamev1.ListMailResponse
	if err := conn.Call(ctx, "mail.list", &gamev1.ListMailRequest{}, &box); err != nil || !hasMail(&box, sent.MailID) {
		t.Fatalf("mailbox %v, %v; want mail %s", &box, err, sent.MailID)
	}

	// Mail all: stored once by the mail function, delivered when the player
	// next reads; grant: straight to the inventory, once, however often
	// the serial is replayed.
	var all idip.MailAllResult
	if _, err := cli.Post(ctx, "mail.all", idip.MailAllRequest{Mutation: idip.Mutation{Serial: "it-mail-all"}, Subject: "Server maintenance gift",
		Attachments: []idip.Item{{ID: "potion", Count: 3}}}, &all); err != nil {
		t.Fatal(err)
	}
	if err := conn.Call(ctx, "mail.list", &gamev1.ListMailRequest{}, &box); err != nil || !hasMail(&box, all.BroadcastID) {
		t.Fatalf("mailbox %v, %v; want the server-wide mail %s", &box, err, all.BroadcastID)
	}
	var before gamev1.GetPlayerResponse
	if err := conn.Call(ctx, "player.get", &gamev1.GetPlayerRequest{}, &before); err != nil {
		t.Fatal(err)
	}
	grant := idip.GrantRequest{Mutation: idip.Mutation{Serial: "it-grant"}, PlayerID: string(tk.PlayerID), Items: []idip.Item{{ID: "gem", Count: 7}}}
	for range 2 {
		if _, err := cli.Post(ctx, "grant", grant, nil); err != nil {
			t.Fatal(err)
		}
	}
	var after gamev1.GetPlayerResponse
	if !waitUntil(10*time.Second, func() bool {
		return conn.Call(ctx, "player.get", &gamev1.GetPlayerRequest{}, &after) == nil &&
			after.GetPlayer().GetInventory()["gem"] == before.GetPlayer().GetInventory()["gem"]+7
	}) {
		t.Fatalf("gems %d after the grant, want %d + 7 exactly", after.GetPlayer().GetInventory()["gem"], before.GetPlayer().GetInventory()["gem"])
	}

	// Ban: kicked from the gate process at once, next login refused; the
	// same serial again answers byte for byte.
	banReq := fmt.Sprintf(`{"serial":"it-ban-1","player_id":%q,"reason":"integration cheat","duration_s":3600}`, tk.PlayerID)
	first := rawIDIP(t, hc, base, token, "player.ban", banReq)
	select {
	case <-conn.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the banned player was not kicked")
	}
	if gamemesh.CodeOf(conn.Err()) != gamemesh.CodeBanned {
		t.Fatalf("session ended with %v, want BANNED", conn.Err())
	}
	if _, err := client.GuestLogin(ctx, login, "idip-it-device-1"); gamemesh.CodeOf(err) != gamemesh.CodeBanned {
		t.Fatalf("login after the ban: %v, want BANNED", err)
	}
	if again := rawIDIP(t, hc, base, token, "player.ban", banReq); !bytes.Equal(first, again) {
		t.Fatalf("replayed serial answered\n%s\nfirst\n%s", again, first)
	}

	// Lua in Dapr mode: ctl script push --idip publishes, the functions
	// process adopts (canary first), as its roster entry in Redis reports.
	mod := filepath.Join(t.TempDir(), "achievement")
	if err := os.MkdirAll(mod, 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(scripts, "achievement", "rules.lua"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mod, "rules.lua"), append(src, []byte("\n-- patched in Dapr mode through IDIP\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	ctlEnv := append(os.Environ(), idip.TokenEnv+"="+token)
	out := runCtl(t, bin, ctlEnv, "ctl", "script", "push", mod, "--idip", base)
	gen, hash, ok := parsePush(out)
	if !ok {
		t.Fatalf("ctl script push: %q", out)
	}
	rc := redis.NewClient(&redis.Options{Addr: r.Addr()})
	defer rc.Close()
	roster := redisdir.NewRoster(rc, "", 0)
	// The host reports its own generation number ("n:hash"; a host that
	// served its local folder first numbers the cluster's bundle after its
	// own): the hash is what must match.
	runs := func(info map[string]string, prefix string) bool {
		_, h, _ := strings.Cut(info[prefix+"achievement"], ":")
		return h == hash
	}
	began = time.Now()
	if !waitUntil(30*time.Second, func() bool {
		ms, err := roster.Members(ctx, directory.KindFunctions)
		return err == nil && len(ms) == 1 && (runs(ms[0].Info, directory.InfoLuaPrefix) || runs(ms[0].Info, directory.InfoLuaCanaryPrefix))
	}) {
		ms, _ := roster.Members(ctx, "")
		t.Fatalf("the functions process did not adopt generation %d %s: roster %+v", gen, hash, ms)
	}
	t.Logf("cluster generation %d (%.12s) adopted by the functions process %v after the push", gen, hash, time.Since(began).Round(time.Millisecond))
	if list := runCtl(t, bin, ctlEnv, "ctl", "script", "list", "achievement", "--idip", base); !strings.Contains(list, hash[:12]) || !strings.Contains(list, "it-") && !strings.Contains(list, "ctl push") {
		t.Fatalf("ctl script list --idip:\n%s", list)
	}
	// The cluster's first push rolls back to the scripts the hosts shipped
	// with (IDIP records them as generation 1 at that push).
	shipped, err := luavm.LoadModule(filepath.Join(scripts, "achievement"))
	if err != nil {
		t.Fatal(err)
	}
	if out := runCtl(t, bin, ctlEnv, "ctl", "script", "rollback", "achievement", "--idip", base); !strings.Contains(out, "rolled back to generation 1, hash "+shipped.Hash()) {
		t.Fatalf("ctl script rollback of the first push: %q, want generation 1 = the shipped scripts %.12s", out, shipped.Hash())
	}
	hash = shipped.Hash()
	if !waitUntil(45*time.Second, func() bool {
		ms, err := roster.Members(ctx, directory.KindFunctions)
		return err == nil && len(ms) == 1 && runs(ms[0].Info, directory.InfoLuaPrefix)
	}) {
		ms, _ := roster.Members(ctx, "")
		t.Fatalf("the functions process did not roll back to the shipped scripts %.12s: roster %+v", hash, ms)
	}
	if idips, _ := roster.Members(ctx, directory.KindIDIP); len(idips) != 1 || idips[0].ID != "idip-it" {
		t.Fatalf("IDIP in the roster: %+v", idips)
	}

	// The audit log holds every call, with who and what.
	entries := 0
	for _, e := range auditEntries(t, cli, ctx) {
		if e.Who == "it-operator" || e.Status == 401 || e.Token == "admin" {
			entries++
		}
	}
	if entries < 9 {
		t.Fatalf("only %d audit entries", entries)
	}
}

// TestIDIPRefusesToStartWithoutAStrongToken: `gamemesh fn --only idip`
// exits with a clear error when its sidecar may not read IDIP_ADMIN_TOKEN
// (the functions' configuration allows only the ticket key), and when the
// token it reads is weak.
func TestIDIPRefusesToStartWithoutAStrongToken(t *testing.T) {
	bin := buildGamemesh(t)
	r := StartRedis(t)
	denied := StartSidecar(t, r, SidecarOptions{AppID: "idip", Env: []string{"GAMEMESH_SECRET_IDIP_ADMIN_TOKEN=" + strings.Repeat("ab", 20)}})
	weak := StartSidecar(t, r, SidecarOptions{AppID: "idip", Config: "idip.yaml", Env: []string{"GAMEMESH_SECRET_IDIP_ADMIN_TOKEN=changeme"}})
	for name, c := range map[string]struct {
		sc   *Sidecar
		want string
	}{
		"secret not readable": {denied, "IDIP_ADMIN_TOKEN"},
		"weak token":          {weak, "must be 32"},
	} {
		cmd := exec.Command(bin, "fn", "--only", "idip", "--idip-addr", "127.0.0.1:0", "--app-addr", "127.0.0.1:0")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "REDIS_HOST=" + r.Addr(), "DAPR_GRPC_PORT=" + strconv.Itoa(c.sc.GRPCPort)}
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), c.want) {
			t.Errorf("%s: %s: exit %v, want an error with %q; output (%d bytes):\n%s", name, cmd, err, c.want, len(out), out)
		}
	}
}

func hasMail(box *gamev1.ListMailResponse, id string) bool {
	for _, m := range box.GetMails() {
		if m.GetId() == id && len(m.GetAttachments()) == 1 {
			return true
		}
	}
	return false
}

func rawIDIP(t *testing.T, hc *http.Client, base, token, command, body string) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+idip.Path(command), strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d %s", command, resp.StatusCode, data)
	}
	return data
}

func runCtl(t *testing.T, bin string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("gamemesh %q: %v\n%s%s", args, err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// parsePush reads "module: generation N, hash H".
func parsePush(out string) (int, string, bool) {
	var mod string
	var gen int
	var hash string
	if _, err := fmt.Sscanf(strings.TrimSpace(out), "%s generation %d, hash %s", &mod, &gen, &hash); err != nil {
		return 0, "", false
	}
	return gen, hash, mod == "achievement:" && len(hash) == 64
}

func auditEntries(t *testing.T, cli *idip.Client, ctx context.Context) []idip.AuditEntry {
	t.Helper()
	var res idip.AuditResult
	if _, err := cli.Get(ctx, "audit", map[string][]string{"limit": {"500"}}, &res); err != nil {
		t.Fatal(err)
	}
	return res.Entries
}
