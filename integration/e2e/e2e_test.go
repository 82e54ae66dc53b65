//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/client"
	"github.com/gamemesh/gamemesh/directory"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/redisconfig"
)

// What the steps hold the stack to.
const (
	// switchWithin bounds a feature switch's write → refusal at the gate.
	switchWithin = 2 * time.Second
	// failWithin bounds a call to a function that is down: its deadline
	// (gamemesh.DefaultDeadline) plus the gate's and the network's share.
	failWithin = gamemesh.DefaultDeadline + 700*time.Millisecond
	// botPlayers is how many players the bots step runs: a functional check
	// of every route through every sidecar, with room to spare on a shared
	// 2-core machine where six daprd processes, the stack and the bots share
	// the CPU (its capacity there is 20–30 players: a measurement, README).
	botPlayers = 12
	// recoverWithin bounds a restarted function's return to service: its
	// container start, the sidecar's reconnect and at most one open state
	// of the circuit breaker (5 s, sidecar-config/resiliency).
	recoverWithin = 45 * time.Second
)

// TestComposeStack runs docker-compose.yml as users do and takes it through
// its paces, one step after another on the same stack: a step that fails
// ends the run (the next ones expect a healthy stack). Add a step by adding
// a function of the stack to the list.
func TestComposeStack(t *testing.T) {
	s := startStack(t)
	steps := []struct {
		name string
		run  func(*testing.T, *stack)
	}{
		{"bots", stepBots},
		{"feature-switch", stepFeatureSwitch},
		{"idip", stepIDIP},
		{"lua-push", stepLuaPush},
		{"scene-killed", stepSceneKilled},
		{"gate-killed", stepGateKilled},
		{"mail-killed", stepMailKilled},
		{"down", stepDown},
	}
	for _, st := range steps {
		if !t.Run(st.name, func(t *testing.T) { st.run(t, s) }) {
			break
		}
	}
}

// stepBots: the documented `compose run --rm bots` drives the stack, with
// an operator calling IDIP on the side, and reports no error on any route:
// the functions through their sidecars, the realtime routes through the
// scene host's link, the operator's commands through IDIP. The first logins
// are spread over 5 s: the step checks that every route works; how many
// players the stack holds is a measurement (README), not a test.
func stepBots(t *testing.T, s *stack) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stdout, stderr, err := s.composeSplit(ctx, "run", "--rm", "-T", "bots", "-n", strconv.Itoa(botPlayers), "-d", "20s", "--stagger", "5s",
		"--idip", "http://idip:7102", "--idip-token", s.IDIPToken, "--idip-every", "3s")
	line := lastJSONLine(stdout)
	if err != nil {
		t.Fatalf("compose run bots: %v\nreport: %s\nstderr: %s", err, line, stderr)
	}
	var rep struct {
		Players  int   `json:"players"`
		LoginsOK int   `json:"logins_ok"`
		Errors   int64 `json:"errors"`
		Calls    map[string]struct {
			OK  int64 `json:"ok"`
			Err int64 `json:"err"`
		} `json:"calls"`
	}
	if err := json.Unmarshal([]byte(line), &rep); err != nil {
		t.Fatalf("bots printed no JSON report: %v\nstdout: %s\nstderr: %s", err, stdout, stderr)
	}
	t.Logf("bots: %s", line)
	if rep.Players != botPlayers || rep.LoginsOK != botPlayers || rep.Errors != 0 {
		t.Fatalf("want %d players, as many logins and 0 errors: %s", botPlayers, line)
	}
	// Every function app answered through its own sidecar.
	for _, route := range []string{"mail.send", "mail.list", "mail.claim", "player.get", "guild.info", "achievement.list",
		"scene.move", "scene.cast", "idip.notice", "idip.mail.all", "idip.online", "idip.grant"} {
		if c := rep.Calls[route]; c.OK == 0 || c.Err != 0 {
			t.Errorf("route %s: %+v", route, c)
		}
	}
}

// stepFeatureSwitch: guild switched off in the configuration store is
// refused at the gate within switchWithin while mail keeps working; switched
// back on with the documented `compose exec gate gamemesh ctl`, it answers
// again.
func stepFeatureSwitch(t *testing.T, s *stack) {
	p := s.player(t, "e2e-switch-"+gamemesh.NewID()[:8])
	call := func(route string, in, out proto.Message) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return p.Call(ctx, route, in, out)
	}
	if err := call("guild.create", &gamev1.CreateGuildRequest{Name: "e2e" + gamemesh.NewID()[:6]}, new(gamev1.GuildResponse)); err != nil {
		t.Fatalf("guild.create: %v", err)
	}
	info := func() error { return call("guild.info", &gamev1.GuildRequest{}, new(gamev1.GuildResponse)) }
	if err := info(); err != nil {
		t.Fatalf("guild.info before the switch: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cs, err := redisconfig.Open(ctx, s.Redis, "")
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	wrote := time.Now()
	version, err := cs.Set(ctx, "feature.guild", "off")
	if err != nil {
		t.Fatal(err)
	}
	var last error
	for last = info(); gamemesh.CodeOf(last) != gamemesh.CodeFeatureDisabled; last = info() {
		if time.Since(wrote) > switchWithin {
			t.Fatalf("guild.info %v after guild was switched off: %v, want FEATURE_DISABLED", switchWithin, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("guild off → refused at the gate in %v", time.Since(wrote).Round(time.Millisecond))
	// Every process of the stack applied it (each reports the versions it
	// applied in the roster).
	took := s.waitRoster(t, switchWithin, func(m directory.Member) bool {
		return m.Info[directory.InfoConfigPrefix+"feature.guild"] == version
	})
	t.Logf("guild off (version %s) applied by every process %v after the refusal: %v", version, took.Round(time.Millisecond), s.processIDs())
	if err := call("mail.list", &gamev1.ListMailRequest{}, new(gamev1.ListMailResponse)); err != nil {
		t.Fatalf("mail.list with guild off: %v (other systems must keep working)", err)
	}

	out, err := s.composeOut(ctx, "exec", "-T", "gate", "gamemesh", "ctl", "--redis", "redis:6379", "feature", "on", "guild")
	if err != nil || !strings.Contains(out, "guild: on") {
		t.Fatalf("compose exec gate gamemesh ctl feature on guild: %v\n%s", err, out)
	}
	on := time.Now()
	for last = info(); last != nil; last = info() {
		if time.Since(on) > switchWithin {
			t.Fatalf("guild.info %v after guild was switched on: %v", switchWithin, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("guild on (%s) → served again in %v", strings.TrimSpace(out), time.Since(on).Round(time.Millisecond))
}

// stepMailKilled: the container serving mail is killed while a player keeps
// mailing. Mail calls fail fast with UNAVAILABLE while it is down, the
// functions of other containers keep answering, its sidecar stays up, and
// after a restart mail answers again with every acknowledged mail in place.
func stepMailKilled(t *testing.T, s *stack) {
	svc, sidecarSvc := s.servingService(t, "mail")
	from := s.player(t, "e2e-kill-from-"+gamemesh.NewID()[:8])
	to := s.player(t, "e2e-kill-to-"+gamemesh.NewID()[:8])
	var acked []string
	send := func() (time.Duration, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var out gamev1.SendMailResponse
		began := time.Now()
		err := from.Call(ctx, "mail.send", &gamev1.SendMailRequest{To: string(to.PlayerID()), Subject: "e2e", Body: "kill test",
			RequestId: gamemesh.NewID()}, &out)
		if err == nil {
			acked = append(acked, out.GetMailId())
		}
		return time.Since(began), err
	}
	for range 10 {
		if _, err := send(); err != nil {
			t.Fatalf("mail.send before the kill: %v", err)
		}
	}
	before, err := s.containers(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := s.composeOut(ctx, "kill", "-s", "SIGKILL", svc); err != nil {
		t.Fatalf("compose kill %s: %v\n%s", svc, err, out)
	}
	killed := time.Now()
	list := func() (time.Duration, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		began := time.Now()
		err := to.Call(ctx, "mail.list", &gamev1.ListMailRequest{}, new(gamev1.ListMailResponse))
		return time.Since(began), err
	}
	unavailable, slowest := map[string]int{}, time.Duration(0)
	for i := 0; time.Since(killed) < 3*time.Second || unavailable["mail.send"] < 3 || unavailable["mail.list"] < 3; i++ {
		if time.Since(killed) > 15*time.Second {
			t.Fatalf("with %s killed for 15 s, only %v calls answered UNAVAILABLE", svc, unavailable)
		}
		route, call := "mail.send", send
		if i%2 == 1 {
			route, call = "mail.list", list
		}
		took, err := call()
		switch code := gamemesh.CodeOf(err); {
		case err == nil:
			// Served before the kill took effect (a send is then acknowledged, so it must survive).
		case code == gamemesh.CodeUnavailable:
			unavailable[route]++
			slowest = max(slowest, took)
		default:
			t.Fatalf("%s with mail killed: %v (code %v), want UNAVAILABLE", route, err, code)
		}
		if err != nil && took > failWithin {
			t.Fatalf("a %s with mail killed took %v, want an answer within %v", route, took, failWithin)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The functions of the other containers go on: the connected player's
	// achievements and guild answer (NOT_FOUND: it has no guild).
	actx, acancel := context.WithTimeout(context.Background(), 5*time.Second)
	err = from.Call(actx, "achievement.list", &gamev1.ListAchievementsRequest{}, new(gamev1.ListAchievementsResponse))
	gerr := from.Call(actx, "guild.info", &gamev1.GuildRequest{}, new(gamev1.GuildResponse))
	acancel()
	if err != nil {
		t.Fatalf("achievement.list with %s down: %v", svc, err)
	}
	if gamemesh.CodeOf(gerr) != gamemesh.CodeNotFound {
		t.Fatalf("guild.info with %s down: %v, want NOT_FOUND from the guild app", svc, gerr)
	}
	t.Logf("%s killed: %v calls answered UNAVAILABLE, the slowest in %v", svc, unavailable, slowest.Round(time.Millisecond))

	if out, err := s.composeOut(ctx, "start", svc); err != nil {
		t.Fatalf("compose start %s: %v\n%s", svc, err, out)
	}
	started := time.Now()
	for {
		_, err := send()
		if err == nil {
			break
		}
		if time.Since(started) > recoverWithin {
			t.Fatalf("mail.send still failing %v after %s was restarted: %v", recoverWithin, svc, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%s restarted → mail.send served again in %v", svc, time.Since(started).Round(100*time.Millisecond))
	s.waitService(t, svc, time.Minute)

	// The sidecar lived through its app's crash (dapr #5718 would kill it).
	after, err := s.containers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if b, a := before[sidecarSvc], after[sidecarSvc]; a.ID != b.ID || a.StartedAt != b.StartedAt || a.Status != "running" {
		t.Fatalf("%s was restarted with its app: before %+v, after %+v", sidecarSvc, b, a)
	}
	if b, a := before[svc], after[svc]; a.StartedAt == b.StartedAt {
		t.Fatalf("the %s container was not restarted: %+v", svc, a)
	}

	for range 5 {
		if _, err := send(); err != nil {
			t.Fatalf("mail.send after the restart: %v", err)
		}
	}
	// Nothing acknowledged is lost.
	got := map[string]bool{}
	for _, m := range mailbox(t, to) {
		got[m.GetId()] = true
	}
	for _, id := range acked {
		if !got[id] {
			t.Errorf("acknowledged mail %s is missing from the recipient's mailbox", id)
		}
	}
	t.Logf("%d acknowledged mails, all in the mailbox (%d listed)", len(acked), len(got))
}

// stepDown: `compose down` removes every container and network of the stack
// and keeps the volumes (Redis's data, IDIP's generated token); `down -v`
// removes them too.
func stepDown(t *testing.T, s *stack) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	began := time.Now()
	if out, err := s.composeOut(ctx, "down"); err != nil {
		t.Fatalf("compose down: %v\n%s", err, out)
	}
	t.Logf("compose down in %v", time.Since(began).Round(100*time.Millisecond))
	containers, networks, volumes, err := s.leftovers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(containers) > 0 || len(networks) > 0 {
		t.Fatalf("after compose down: containers %v, networks %v", containers, networks)
	}
	slices.Sort(volumes)
	if len(volumes) != 2 || !strings.HasSuffix(volumes[0], "_idip-data") || !strings.HasSuffix(volumes[1], "_redis-data") {
		t.Fatalf("after compose down: volumes %v, want the IDIP token's and Redis's kept", volumes)
	}
	if out, err := s.composeOut(ctx, "down", "-v"); err != nil {
		t.Fatalf("compose down -v: %v\n%s", err, out)
	}
	if containers, networks, volumes, err = s.leftovers(ctx); err != nil {
		t.Fatal(err)
	}
	if len(containers)+len(networks)+len(volumes) > 0 {
		t.Fatalf("after compose down -v: containers %v, networks %v, volumes %v", containers, networks, volumes)
	}
}

// lastJSONLine returns the last line of out that starts with '{'.
// mailbox returns every mail in c's player's mailbox (all pages).
func mailbox(t *testing.T, c *client.Conn) []*gamev1.Mail {
	t.Helper()
	var mails []*gamev1.Mail
	token := ""
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var page gamev1.ListMailResponse
		err := c.Call(ctx, "mail.list", &gamev1.ListMailRequest{PageToken: token, PageSize: 50}, &page)
		cancel()
		if err != nil {
			t.Fatalf("mail.list: %v", err)
		}
		mails = append(mails, page.GetMails()...)
		if token = page.GetNextPageToken(); token == "" {
			return mails
		}
	}
}

func lastJSONLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); strings.HasPrefix(l, "{") {
			return l
		}
	}
	return ""
}
