package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/client"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// buildBinary builds cmd/gamemesh once per test binary run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gamemesh")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// upProcess is a running `gamemesh up`.
type upProcess struct {
	cmd      *exec.Cmd
	tcp      string // tcp://host:port
	httpBase string // http://host:port
	idip     string // the IDIP API's base URL
	logs     *logTail
}

type logTail struct {
	mu    sync.Mutex
	lines []string
}

func (l *logTail) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
}

func (l *logTail) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

var (
	readyLine = regexp.MustCompile(`gamemesh up: ready.* tcp=(tcp://\S+) .* login=(http://[^/\s]+)/`)
	idipLine  = regexp.MustCompile(`gamemesh up: IDIP API" url=(http://\S+)`)
)

// startUp starts `gamemesh up` on dataDir with OS-chosen ports and waits for its ready line.
func startUp(t *testing.T, bin, dataDir string) *upProcess {
	t.Helper()
	// A generous call deadline: these tests are about what happens, not how
	// fast, on a machine that also runs the rest of the test suite.
	cmd := exec.Command(bin, "up", "--data", dataDir, "--tcp", "127.0.0.1:0", "--http", "127.0.0.1:0", "--idip", "127.0.0.1:0",
		"--scripts", "../../scripts", "--call-deadline", "3s")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &upProcess{cmd: cmd, logs: &logTail{}}
	ready := make(chan [2]string, 1)
	idipReady := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.logs.add(sc.Text())
			if m := readyLine.FindStringSubmatch(sc.Text()); m != nil {
				ready <- [2]string{m[1], m[2]}
			}
			if m := idipLine.FindStringSubmatch(sc.Text()); m != nil {
				idipReady <- m[1]
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("gamemesh up logs:\n%s", p.logs)
		}
	})
	select {
	case addrs := <-ready:
		p.tcp, p.httpBase = addrs[0], addrs[1]
	case <-time.After(20 * time.Second):
		t.Fatalf("gamemesh up did not become ready:\n%s", p.logs)
	}
	select {
	case p.idip = <-idipReady:
	case <-time.After(5 * time.Second):
		t.Fatalf("gamemesh up did not log its IDIP API:\n%s", p.logs)
	}
	return p
}

// ledger is what the server acknowledged before the crash.
type ledger struct {
	mu      sync.Mutex
	devices map[gamemesh.PlayerID]string   // player → device id
	mails   map[string]gamemesh.PlayerID   // acknowledged mail id → recipient
	claims  map[gamemesh.PlayerID][]string // acknowledged claims: player → mail ids
}

// TestKill9LosesNoAcknowledgedMailOrClaim runs players against `gamemesh up`,
// kills it with SIGKILL mid-run, restarts it on the same data directory and
// checks that every acknowledged mail and claim is there, and that every
// claimed attachment reached the inventory exactly once.
func TestKill9LosesNoAcknowledgedMailOrClaim(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	dataDir := t.TempDir()
	up := startUp(t, bin, dataDir)

	led := &ledger{devices: map[gamemesh.PlayerID]string{}, mails: map[string]gamemesh.PlayerID{}, claims: map[gamemesh.PlayerID][]string{}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	const workers = 12
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				playOnce(ctx, up, led, fmt.Sprintf("crash-w%02d-%04d", w, i))
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	if err := up.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = up.cmd.Wait()
	cancel()
	wg.Wait()

	led.mu.Lock()
	defer led.mu.Unlock()
	nClaims := 0
	for _, c := range led.claims {
		nClaims += len(c)
	}
	if len(led.mails) < 20 || nClaims < 10 {
		t.Fatalf("workload too small to mean anything: %d mails, %d claims acknowledged before the kill", len(led.mails), nClaims)
	}
	t.Logf("acknowledged before kill -9: %d mails, %d claims, %d players", len(led.mails), nClaims, len(led.devices))

	up2 := startUp(t, bin, dataDir)
	vctx, vcancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer vcancel()
	for p, device := range led.devices {
		tk, err := guestLoginPaced(vctx, up2.httpBase, device)
		if err != nil {
			t.Fatalf("login %s after restart: %v", device, err)
		}
		if tk.PlayerID != p {
			t.Fatalf("device %s is player %s after restart, was %s", device, tk.PlayerID, p)
		}
		conn, err := client.Dial(vctx, up2.tcp, tk.Ticket, client.Options{})
		if err != nil {
			t.Fatalf("dial after restart: %v", err)
		}
		rec := new(gamev1.GetPlayerResponse)
		if err := conn.Call(vctx, "player.get", &gamev1.GetPlayerRequest{}, rec); err != nil {
			t.Fatalf("player.get after restart: %v", err)
		}
		mails := listAll(t, vctx, conn)
		want := map[string]int64{}
		for _, m := range mails {
			if m.Claimed {
				for _, it := range m.Attachments {
					want[it.Id] += it.Count
				}
			}
		}
		// Claimed attachments reached the inventory exactly once (a claim that
		// was in flight at the kill either happened entirely or not at all).
		for id, n := range want {
			if got := rec.Player.Inventory[id]; got != n {
				t.Errorf("player %s: inventory[%s] = %d, claimed mails hold %d", p, id, got, n)
			}
		}
		for id, got := range rec.Player.Inventory {
			if want[id] != got {
				t.Errorf("player %s: inventory[%s] = %d without a claimed mail for it", p, id, got)
			}
		}
		byID := map[string]*gamev1.Mail{}
		for _, m := range mails {
			byID[m.Id] = m
		}
		for _, id := range led.claims[p] {
			if m := byID[id]; m == nil || !m.Claimed {
				t.Errorf("player %s: acknowledged claim of mail %s lost (mail %v)", p, id, m)
			}
		}
		for id, to := range led.mails {
			if to == p && byID[id] == nil {
				t.Errorf("player %s: acknowledged mail %s lost", p, id)
			}
		}
		_ = conn.Close()
	}
}

// guestLoginPaced logs in, waiting and retrying while the gate's guest-login
// rate limit refuses (as a real client honouring RATE_LIMITED does).
func guestLoginPaced(ctx context.Context, httpBase, device string) (client.GuestTicket, error) {
	for {
		tk, err := client.GuestLogin(ctx, httpBase, device)
		if gamemesh.CodeOf(err) != gamemesh.CodeRateLimited {
			return tk, err
		}
		select {
		case <-ctx.Done():
			return tk, err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// playOnce creates a player, takes its welcome gift, mails earlier players and
// records everything the server acknowledged.
func playOnce(ctx context.Context, up *upProcess, led *ledger, device string) {
	tk, err := client.GuestLogin(ctx, up.httpBase, device)
	if err != nil {
		return
	}
	conn, err := client.Dial(ctx, up.tcp, tk.Ticket, client.Options{})
	if err != nil {
		return
	}
	defer conn.Close()
	led.mu.Lock()
	led.devices[tk.PlayerID] = device
	var peers []gamemesh.PlayerID
	for p := range led.devices {
		if len(peers) == 3 {
			break
		}
		peers = append(peers, p)
	}
	led.mu.Unlock()
	if err := conn.Call(ctx, "player.get", &gamev1.GetPlayerRequest{}, new(gamev1.GetPlayerResponse)); err != nil {
		return
	}
	for _, to := range peers {
		out := new(gamev1.SendMailResponse)
		if err := conn.Call(ctx, "mail.send", &gamev1.SendMailRequest{To: string(to), Subject: "hi", Body: "crash test", RequestId: gamemesh.NewID()}, out); err != nil {
			return
		}
		led.mu.Lock()
		led.mails[out.MailId] = to
		led.mu.Unlock()
	}
	list := new(gamev1.ListMailResponse)
	if err := conn.Call(ctx, "mail.list", &gamev1.ListMailRequest{}, list); err != nil {
		return
	}
	for _, m := range list.Mails {
		if len(m.Attachments) == 0 || m.Claimed {
			continue
		}
		if err := conn.Call(ctx, "mail.claim", &gamev1.ClaimMailRequest{MailId: m.Id}, new(gamev1.ClaimMailResponse)); err != nil {
			return
		}
		led.mu.Lock()
		led.claims[tk.PlayerID] = append(led.claims[tk.PlayerID], m.Id)
		led.mu.Unlock()
	}
}

func listAll(t *testing.T, ctx context.Context, conn *client.Conn) []*gamev1.Mail {
	t.Helper()
	var all []*gamev1.Mail
	token := ""
	for {
		page := new(gamev1.ListMailResponse)
		if err := conn.Call(ctx, "mail.list", &gamev1.ListMailRequest{PageToken: token, PageSize: 50}, page); err != nil {
			t.Fatalf("mail.list: %v", err)
		}
		all = append(all, page.Mails...)
		if page.NextPageToken == "" {
			return all
		}
		token = page.NextPageToken
	}
}
