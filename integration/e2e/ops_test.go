//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/client"
	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/functions/idip"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// luaWithin bounds a pushed Lua generation's arrival on every host running
// the module (the Followers re-read at least every few seconds) and, once
// there, its promotion from canary (30 s or 200 calls, luavm's default
// policy) or a rollback's arrival.
const luaWithin = 60 * time.Second

// stepIDIP: the operators' API on its published port, as the README shows
// it. Without the token or with a wrong one: 401. With the token the stack
// generated: a switch through `gamemesh ctl --idip` reports every process
// converged and is in force at the gate at once; a notice reaches an online
// player; a server-wide mail with an attachment reaches it and is claimed
// once.
func stepIDIP(t *testing.T, s *stack) {
	for _, tok := range []string{"", strings.Repeat("0f", 32)} {
		req, _ := http.NewRequest(http.MethodGet, s.IDIP+idip.Path("online"), nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", req.URL, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("GET %s with token %q: %d, want 401", req.URL, tok, resp.StatusCode)
		}
	}

	var mu sync.Mutex
	var notices [][]byte
	p := s.playerWith(t, "e2e-idip-"+gamemesh.NewID()[:8], client.Options{OnPush: func(route string, body []byte) {
		if route == directory.NoticePushRoute {
			mu.Lock()
			notices = append(notices, bytes.Clone(body))
			mu.Unlock()
		}
	}})
	out, err := s.ctl(t, "idip", "online")
	if err != nil || !strings.Contains(out, `"total"`) {
		t.Fatalf("ctl idip online: %v\n%s", err, out)
	}

	began := time.Now()
	out, err = s.ctl(t, "feature", "off", "guild")
	if err != nil || !strings.Contains(out, "converged: "+strconv.Itoa(len(s.processIDs()))+" processes") {
		t.Fatalf("ctl --idip feature off guild: %v\n%s(want every one of the %d processes converged)", err, out, len(s.processIDs()))
	}
	t.Logf("ctl --idip feature off guild in %v: %s", time.Since(began).Round(time.Millisecond), strings.TrimSpace(out))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	err = p.Call(ctx, "guild.info", &gamev1.GuildRequest{}, new(gamev1.GuildResponse))
	cancel()
	if gamemesh.CodeOf(err) != gamemesh.CodeFeatureDisabled {
		t.Fatalf("guild.info after a converged feature off: %v, want FEATURE_DISABLED", err)
	}
	if out, err = s.ctl(t, "feature", "on", "guild"); err != nil || !strings.Contains(out, "guild: on") {
		t.Fatalf("ctl --idip feature on guild: %v\n%s", err, out)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	err = p.Call(ctx, "guild.info", &gamev1.GuildRequest{}, new(gamev1.GuildResponse))
	cancel()
	if gamemesh.CodeOf(err) != gamemesh.CodeNotFound {
		t.Fatalf("guild.info after feature on: %v, want NOT_FOUND from the guild app (no guild)", err)
	}

	text := "e2e notice " + gamemesh.NewID()[:8]
	if out, err = s.ctl(t, "idip", "notice", "text="+text); err != nil {
		t.Fatalf("ctl idip notice: %v\n%s", err, out)
	}
	sent := time.Now()
	for {
		mu.Lock()
		got := slices.ContainsFunc(notices, func(b []byte) bool { return bytes.Contains(b, []byte(text)) })
		mu.Unlock()
		if got {
			break
		}
		if time.Since(sent) > 5*time.Second {
			t.Fatalf("the notice %q did not reach the online player within 5 s", text)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("notice reached the online player in %v", time.Since(sent).Round(time.Millisecond))

	subject := "e2e all " + gamemesh.NewID()[:8]
	if out, err = s.ctl(t, "idip", "mail.all", "subject="+subject, "body=for everyone",
		`attachments=[{"id":"gem","count":3}]`); err != nil {
		t.Fatalf("ctl idip mail.all: %v\n%s", err, out)
	}
	var mailID string
	listed := time.Now()
	for mailID == "" {
		for _, m := range mailbox(t, p) {
			if m.GetSubject() == subject {
				mailID = m.GetId()
			}
		}
		if mailID != "" {
			break
		}
		if time.Since(listed) > 5*time.Second {
			t.Fatalf("the server-wide mail %q is not in an online player's mailbox after 5 s", subject)
		}
		time.Sleep(50 * time.Millisecond)
	}
	claim := func() (*gamev1.ClaimMailResponse, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var out gamev1.ClaimMailResponse
		return &out, p.Call(ctx, "mail.claim", &gamev1.ClaimMailRequest{MailId: mailID}, &out)
	}
	got, err := claim()
	if err != nil || len(got.GetItems()) != 1 || got.GetItems()[0].GetId() != "gem" || got.GetItems()[0].GetCount() != 3 {
		t.Fatalf("claiming the server-wide mail: %v %v, want 3 gem", got, err)
	}
	if _, err := claim(); gamemesh.CodeOf(err) != gamemesh.CodeAlreadyDone {
		t.Fatalf("a second claim: %v, want ALREADY_DONE", err)
	}
}

// stepLuaPush: a changed achievement module pushed with `gamemesh ctl
// script push` through IDIP is taken up by every host that runs the module,
// first as a canary and then promoted; `ctl script list` shows it with who
// pushed it; `ctl script rollback` brings every host back to the previous
// hash. A push that does not compile is refused and changes nothing.
func stepLuaPush(t *testing.T, s *stack) {
	const module = "achievement"
	hosts, before := s.luaHosts(t, module)
	if !slices.Contains(hosts, "achievement-1") {
		t.Fatalf("hosts running Lua module %s: %v, want achievement-1 among them", module, hosts)
	}

	dir := filepath.Join(t.TempDir(), module)
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(s.root, "scripts", module))); err != nil {
		t.Fatal(err)
	}
	rules := filepath.Join(dir, "rules.lua")
	src, err := os.ReadFile(rules)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rules, append([]byte("this is not Lua\n"), src...), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := s.ctl(t, "script", "push", dir); err == nil {
		t.Fatalf("a bundle that does not compile was pushed:\n%s", out)
	}
	if _, now := s.luaHosts(t, module); !maps.Equal(now, before) {
		t.Fatalf("a refused push changed the hosts' generations: %v → %v", before, now)
	}

	if err := os.WriteFile(rules, append(src, []byte("\n-- e2e push "+gamemesh.NewID()[:8]+"\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	pushed := time.Now()
	out, err := s.ctl(t, "script", "push", dir)
	m := regexp.MustCompile(module + `: generation (\d+), hash ([0-9a-f]+)`).FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("ctl script push: %v\n%s", err, out)
	}
	// Hosts number generations in their own pools (a host's first is its
	// image's scripts); the hash is what they must agree on.
	hash := m[2]
	canary := s.waitMembers(t, hosts, luaWithin, func(mb directory.Member) bool {
		return hashOf(mb.Info[directory.InfoLuaCanaryPrefix+module]) == hash || hashOf(mb.Info[directory.InfoLuaPrefix+module]) == hash
	})
	s.waitMembers(t, hosts, luaWithin, func(mb directory.Member) bool { return hashOf(mb.Info[directory.InfoLuaPrefix+module]) == hash })
	t.Logf("pushed %s (cluster generation %s, hash %.12s): on every host (%v) as a canary %v after the push, promoted everywhere %v after it",
		module, m[1], hash, hosts, canary.Round(time.Millisecond), time.Since(pushed).Round(time.Millisecond))

	out, err = s.ctl(t, "script", "list", module)
	if err != nil || !strings.Contains(out, m[2][:12]) || !strings.Contains(out, "e2e") {
		t.Fatalf("ctl script list %s: %v\n%s(want the pushed hash %s and who pushed it)", module, err, out, m[2])
	}
	out, err = s.ctl(t, "script", "rollback", module)
	if err != nil || !strings.Contains(out, "rolled back") {
		t.Fatalf("ctl script rollback %s: %v\n%s", module, err, out)
	}
	back := s.waitMembers(t, hosts, luaWithin, func(mb directory.Member) bool {
		return hashOf(mb.Info[directory.InfoLuaPrefix+module]) == hashOf(before[hosts[0]])
	})
	t.Logf("rolled back (%s) on every host in %v", strings.TrimSpace(out), back.Round(time.Millisecond))
}

// luaHosts returns the processes of the stack that report running module
// (sorted) and the generation each reports; it fails when they disagree.
func (s *stack) luaHosts(t *testing.T, module string) ([]string, map[string]string) {
	t.Helper()
	members := s.members(t)
	gens := map[string]string{}
	var hosts []string
	for _, mb := range members {
		if g, ok := mb.Info[directory.InfoLuaPrefix+module]; ok && slices.Contains(s.processIDs(), mb.ID) {
			hosts = append(hosts, mb.ID)
			gens[mb.ID] = g
		}
	}
	slices.Sort(hosts)
	for _, h := range hosts {
		if hashOf(gens[h]) != hashOf(gens[hosts[0]]) {
			t.Fatalf("hosts run different %s bundles before the push: %v", module, gens)
		}
	}
	return hosts, gens
}

// hashOf is the hash of a "generation:hash" roster value.
func hashOf(gen string) string {
	_, h, _ := strings.Cut(gen, ":")
	return h
}

// stepSceneKilled: the scene host is killed (SIGKILL) while bots play and
// started again. Every player in the world is told (scene.lost), re-enters
// once the host is back (it reclaims the city under the same id), and no
// call fails: not the realtime ones, which wait for the re-entry, and not the
// functions, which never depended on it.
func stepSceneKilled(t *testing.T, s *stack) {
	const players = 10
	type result struct {
		stdout, stderr string
		err            error
	}
	done := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		o, e, err := s.composeSplit(ctx, "run", "--rm", "-T", "bots", "-n", strconv.Itoa(players), "-d", "30s", "--stagger", "2s")
		done <- result{o, e, err}
	}()
	time.Sleep(10 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := s.composeOut(ctx, "kill", "-s", "SIGKILL", "scene"); err != nil {
		t.Fatalf("compose kill scene: %v\n%s", err, out)
	}
	killed := time.Now()
	if out, err := s.composeOut(ctx, "start", "scene"); err != nil {
		t.Fatalf("compose start scene: %v\n%s", err, out)
	}
	s.waitService(t, "scene", time.Minute)
	t.Logf("scene host killed and started again: healthy %v after the kill", time.Since(killed).Round(100*time.Millisecond))
	r := <-done
	line := lastJSONLine(r.stdout)
	if r.err != nil {
		t.Fatalf("bots: %v\nreport: %s\nstderr: %s", r.err, line, r.stderr)
	}
	var rep struct {
		Errors int64 `json:"errors"`
		Scene  struct {
			Enters int `json:"enters"`
			Lost   int `json:"lost"`
		} `json:"scene"`
		Calls map[string]struct {
			OK  int64 `json:"ok"`
			Err int64 `json:"err"`
		} `json:"calls"`
	}
	if err := json.Unmarshal([]byte(line), &rep); err != nil {
		t.Fatalf("bots printed no JSON report: %v\n%s", err, r.stdout)
	}
	t.Logf("bots across the scene host's kill: %s", line)
	if rep.Errors != 0 || rep.Scene.Lost < players || rep.Scene.Enters < 2*players {
		t.Fatalf("want 0 errors, every player told (scene.lost ≥ %d) and back in (enters ≥ %d): %s", players, 2*players, line)
	}
	if c := rep.Calls["scene.move"]; c.OK == 0 {
		t.Fatalf("no scene.move served: %s", line)
	}
}

// stepGateKilled: the gate is killed (SIGKILL) under two connected players
// and started again. What a player sees: its session ends (the host's end
// of the connection is Docker's port proxy, which ends it when the
// container is replaced; a gate host that vanished without a reset would be
// noticed by the SDK after three missed heartbeats — 3 s for these players,
// 30 s with the gate's default interval); a new login through the restarted
// gate works (the directory entries the dead gate left behind do not block
// it), every mail acknowledged before the kill is in the recipient's
// mailbox, and a new mail's push reaches the recipient's new connection.
// The step reports how long the players were out.
func stepGateKilled(t *testing.T, s *stack) {
	devA, devB := "e2e-gate-a-"+gamemesh.NewID()[:8], "e2e-gate-b-"+gamemesh.NewID()[:8]
	fast := client.Options{HeartbeatInterval: time.Second}
	a, b := s.playerWith(t, devA, fast), s.playerWith(t, devB, fast)
	var acked []string
	send := func(from *client.Conn, to gamemesh.PlayerID) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var out gamev1.SendMailResponse
		err := from.Call(ctx, "mail.send", &gamev1.SendMailRequest{To: string(to), Subject: "e2e gate", Body: "before the kill",
			RequestId: gamemesh.NewID()}, &out)
		if err == nil {
			acked = append(acked, out.GetMailId())
		}
		return err
	}
	for range 5 {
		if err := send(a, b.PlayerID()); err != nil {
			t.Fatalf("mail.send before the kill: %v", err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := s.composeOut(ctx, "kill", "-s", "SIGKILL", "gate"); err != nil {
		t.Fatalf("compose kill gate: %v\n%s", err, out)
	}
	killed := time.Now()
	if out, err := s.composeOut(ctx, "start", "gate"); err != nil {
		t.Fatalf("compose start gate: %v\n%s", err, out)
	}
	for _, c := range []*client.Conn{a, b} {
		select {
		case <-c.Done():
		case <-time.After(recoverWithin):
			t.Fatalf("a player's session was still not ended %v after its gate was killed (heartbeat 1 s, read timeout 3 s)", recoverWithin)
		}
	}
	noticed := time.Since(killed)

	// The players log in again, as a client does when its gate is gone.
	var pushes sync.Map
	relogin := func(device string) *client.Conn {
		for {
			c, err := s.tryPlayer(device, client.Options{OnPush: func(route string, body []byte) {
				if route == "mail.new" {
					pushes.Store(device, true)
				}
			}})
			if err == nil {
				return c
			}
			if time.Since(killed) > recoverWithin {
				t.Fatalf("%s could not log in again %v after the gate was killed: %v", device, recoverWithin, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	a2 := relogin(devA)
	back := time.Since(killed)
	b2 := relogin(devB)
	t.Cleanup(func() { a2.Close(); b2.Close() })
	if a2.PlayerID() != a.PlayerID() || b2.PlayerID() != b.PlayerID() {
		t.Fatalf("logging in again gave other players: %s, %s", a2.PlayerID(), b2.PlayerID())
	}
	got := map[string]bool{}
	for _, m := range mailbox(t, b2) {
		got[m.GetId()] = true
	}
	for _, id := range acked {
		if !got[id] {
			t.Errorf("mail %s, acknowledged before the gate was killed, is not in the mailbox", id)
		}
	}
	if err := send(a2, b2.PlayerID()); err != nil {
		t.Fatalf("mail.send after the gate's restart: %v", err)
	}
	for began := time.Now(); ; time.Sleep(20 * time.Millisecond) {
		if _, ok := pushes.Load(devB); ok {
			break
		}
		if time.Since(began) > 5*time.Second {
			t.Fatal("the new mail's push did not reach the recipient's new connection within 5 s")
		}
	}
	t.Logf("gate killed: the players' connections ended %v after the kill (%v); logged in again and served %v after it; %d acknowledged mails all there; pushes reach the new sessions",
		noticed.Round(time.Millisecond), a.Err(), back.Round(100*time.Millisecond), len(acked))
}
