//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/gamemesh/gamemesh/client"
	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/directory/redisdir"
)

const (
	// projectPrefix starts the compose project name of every e2e run, so
	// that leftovers of a run that was killed are recognised (and never a
	// user's stack).
	projectPrefix = "gamemesh-e2e-"
	// lockPath is the lock every test starting daprd takes (COMMON.md).
	lockPath = "/tmp/gamemesh-integration.lock"
	// healthyTimeout bounds compose up → every service healthy.
	healthyTimeout = 3 * time.Minute
)

// stack is one running docker-compose.yml under a project name of its own.
type stack struct {
	t       *testing.T
	root    string
	project string
	compose []string // "docker compose" or "docker-compose"
	files   []string // -f arguments
	env     []string // variables the compose file reads
	config  composeFile
	bin     string // the host's gamemesh binary, built on first use

	// TCP and WS are the gate's client addresses, HTTP its HTTP base,
	// Redis the stack's Redis (test override), IDIP the operators' API
	// base, all on loopback.
	TCP, HTTP, Redis, IDIP string
	// IDIPToken is the admin token the IDIP service generated and printed
	// (read from its log, as the README tells operators to).
	IDIPToken string
	// Healthy is how long compose up took to reach every service healthy.
	Healthy time.Duration
}

// startStack takes the integration lock, removes leftovers of killed runs,
// builds the stand-in images (unless GAMEMESH_E2E_STANDIN=0), runs
// `compose up -d` and waits until every service is healthy. The stack is
// brought down (volumes included) when the test ends, and its logs are
// printed first when the test failed.
func startStack(t *testing.T) *stack {
	t.Helper()
	s := &stack{t: t, root: repoRoot(t), project: projectPrefix + strconv.Itoa(os.Getpid())}
	s.compose = findCompose(t)
	s.files = []string{"-f", filepath.Join(s.root, "docker-compose.yml"), "-f", filepath.Join(s.root, "integration", "e2e", "testdata", "compose.e2e.yml")}
	tcp, httpPort, redisPort, idipPort := freePort(t), freePort(t), freePort(t), freePort(t)
	s.TCP = "tcp://127.0.0.1:" + strconv.Itoa(tcp)
	s.HTTP = "http://127.0.0.1:" + strconv.Itoa(httpPort)
	s.Redis = "127.0.0.1:" + strconv.Itoa(redisPort)
	s.IDIP = "http://127.0.0.1:" + strconv.Itoa(idipPort)
	// Fresh tokens and ticket key: a variable the file does not pass on
	// breaks logins or sidecar calls.
	s.env = []string{
		"GAMEMESH_BIND=127.0.0.1",
		"GAMEMESH_TCP_PORT=" + strconv.Itoa(tcp),
		"GAMEMESH_HTTP_PORT=" + strconv.Itoa(httpPort),
		"GAMEMESH_E2E_REDIS_PORT=" + strconv.Itoa(redisPort),
		"GAMEMESH_IDIP_PORT=" + strconv.Itoa(idipPort),
		"DAPR_API_TOKEN=" + randomHex(t, 16),
		"APP_API_TOKEN=" + randomHex(t, 16),
		"GAMEMESH_TICKET_KEY=" + randomHex(t, 32),
	}

	lockIntegration(t)
	s.removeLeftovers()
	if os.Getenv("GAMEMESH_E2E_STANDIN") != "0" {
		began := time.Now()
		out, err := s.run(context.Background(), filepath.Join(s.root, "deploy", "docker", "standin.sh"))
		if err != nil {
			t.Fatalf("building the stand-in images: %v\n%s", err, out)
		}
		t.Logf("stand-in images built in %v:\n%s", time.Since(began).Round(100*time.Millisecond), strings.TrimSpace(out))
	}
	cfg, err := s.composeOut(context.Background(), "config")
	if err != nil {
		t.Fatalf("compose config: %v\n%s", err, cfg)
	}
	s.config = parseCompose(t, []byte(cfg))

	t.Cleanup(s.cleanup)
	began := time.Now()
	if out, err := s.composeOut(context.Background(), "up", "-d"); err != nil {
		t.Fatalf("compose up: %v\n%s", err, out)
	}
	s.waitHealthy(t, healthyTimeout)
	s.Healthy = time.Since(began)
	t.Logf("compose up → %d services healthy in %v (project %s, gate %s)", len(s.stackServices()), s.Healthy.Round(100*time.Millisecond), s.project, s.TCP)
	s.IDIPToken = s.generatedIDIPToken(t)
	return s
}

// generatedIDIPToken reads the admin token the IDIP service printed when it
// generated it (no GAMEMESH_IDIP_TOKEN given), as an operator would:
// `docker compose logs idip`.
func (s *stack) generatedIDIPToken(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := s.composeOut(ctx, "logs", "--no-color", "idip")
	if err != nil {
		t.Fatalf("compose logs idip: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`IDIP admin token generated.* token=([0-9a-f]{64})`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("the IDIP service printed no generated admin token:\n%s", out)
	}
	return m[1]
}

// gamemesh returns a gamemesh binary built from this checkout for the host,
// the one a user runs `gamemesh ctl` with against the stack's ports.
func (s *stack) gamemesh(t *testing.T) string {
	t.Helper()
	if s.bin != "" {
		return s.bin
	}
	bin := filepath.Join(s.t.TempDir(), "gamemesh")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := s.run(ctx, "go", "build", "-o", bin, "./cmd/gamemesh"); err != nil {
		t.Fatalf("go build ./cmd/gamemesh: %v\n%s", err, out)
	}
	s.bin = bin
	return bin
}

// ctl runs the host's `gamemesh ctl args...` against the stack's published
// IDIP port with the generated token; it returns stdout and stderr together.
func (s *stack) ctl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	bin := s.gamemesh(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"ctl", "--idip", s.IDIP, "--operator", "e2e"}, args...)...)
	cmd.Dir = s.root
	cmd.Env = append(os.Environ(), "GAMEMESH_IDIP_TOKEN="+s.IDIPToken)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// findCompose returns the compose command: $GAMEMESH_E2E_COMPOSE, else
// `docker compose` (v2), else docker-compose (v1). Without Docker the test
// skips (fails under CI=true).
func findCompose(t *testing.T) []string {
	t.Helper()
	missing := func(msg string) {
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if _, err := exec.LookPath("docker"); err != nil {
		missing("docker not found")
	}
	if err := exec.Command("docker", "info").Run(); err != nil {
		missing("the Docker engine does not answer: " + err.Error())
	}
	if c := os.Getenv("GAMEMESH_E2E_COMPOSE"); c != "" {
		return strings.Fields(c)
	}
	if exec.Command("docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}
	}
	if _, err := exec.LookPath("docker-compose"); err == nil {
		return []string{"docker-compose"}
	}
	missing("neither `docker compose` nor docker-compose is installed")
	return nil
}

// lockIntegration takes the integration lock until the test ends, waiting
// for other holders (integration tests on the host use mDNS and must not
// share the machine's multicast with a running stack's neighbours).
func lockIntegration(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatalf("opening the integration lock: %v", err)
	}
	deadline := time.Now().Add(20 * time.Minute)
	if d, ok := t.Deadline(); ok && d.Before(deadline) {
		deadline = d.Add(-5 * time.Minute)
	}
	waiting := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			t.Fatalf("taking the integration lock: %v", err)
		}
		if time.Now().After(deadline) {
			f.Close()
			t.Fatalf("the integration lock %s stayed busy (is this test wrapped in flock(1)? it locks by itself)", lockPath)
		}
		if !waiting {
			t.Logf("waiting for the integration lock %s", lockPath)
			waiting = true
		}
		time.Sleep(time.Second)
	}
	t.Cleanup(func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	})
}

// run runs a command with the stack's environment; it returns stdout and
// stderr together.
func (s *stack) run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = s.root
	cmd.Env = append(os.Environ(), s.env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// composeArgs are the arguments of one compose command on this stack.
func (s *stack) composeArgs(args ...string) []string {
	a := append(slices.Clone(s.compose[1:]), "-p", s.project)
	a = append(a, s.files...)
	return append(a, args...)
}

// composeOut runs compose with args; it returns stdout and stderr together.
func (s *stack) composeOut(ctx context.Context, args ...string) (string, error) {
	return s.run(ctx, s.compose[0], s.composeArgs(args...)...)
}

// composeSplit runs compose with args and returns stdout and stderr apart.
func (s *stack) composeSplit(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	cmd := exec.CommandContext(ctx, s.compose[0], s.composeArgs(args...)...)
	cmd.Dir = s.root
	cmd.Env = append(os.Environ(), s.env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// stackServices are the services `compose up` starts (no profile), sorted.
func (s *stack) stackServices() []string {
	var names []string
	for _, name := range sortedKeys(s.config.Services) {
		if s.config.Services[name].longRunning() {
			names = append(names, name)
		}
	}
	return names
}

// servingService returns the service that serves function app fn (its fn
// command's --only names it) and the service of its sidecar.
func (s *stack) servingService(t *testing.T, fn string) (app, sidecar string) {
	t.Helper()
	for _, name := range sortedKeys(s.config.Services) {
		svc := s.config.Services[name]
		if len(svc.Command) == 0 || svc.Command[0] != "fn" {
			continue
		}
		if only, _ := svc.flag("--only"); slices.Contains(strings.Split(only, ","), fn) {
			app = name
		}
	}
	for _, name := range sortedKeys(s.config.Services) {
		if svc := s.config.Services[name]; svc.isDaprd() {
			if a, _ := svc.flag("--app-channel-address"); a == app && app != "" {
				return app, name
			}
		}
	}
	t.Fatalf("no service (with a sidecar) serves function app %s", fn)
	return "", ""
}

// processIDs are the roster ids of the stack's gamemesh processes (their
// --id flags), sorted.
func (s *stack) processIDs() []string {
	var ids []string
	for _, name := range s.stackServices() {
		if svc := s.config.Services[name]; svc.isGamemesh() {
			if id, _ := svc.flag("--id"); id != "" {
				ids = append(ids, id)
			}
		}
	}
	slices.Sort(ids)
	return ids
}

// waitRoster waits until every process of the stack is in the roster (in
// the stack's Redis) and ok holds for each; it returns how long that took.
// Steps use it to wait for the whole cluster to converge (a configuration
// version).
func (s *stack) waitRoster(t *testing.T, timeout time.Duration, ok func(directory.Member) bool) time.Duration {
	t.Helper()
	return s.waitMembers(t, s.processIDs(), timeout, ok)
}

// waitMembers waits until each of ids is in the roster and ok holds for it
// (a failure names the laggards with what they report); it returns how long
// that took.
func (s *stack) waitMembers(t *testing.T, ids []string, timeout time.Duration, ok func(directory.Member) bool) time.Duration {
	t.Helper()
	began := time.Now()
	for {
		byID := map[string]directory.Member{}
		for _, m := range s.members(t) {
			byID[m.ID] = m
		}
		var missing []string
		for _, id := range ids {
			if m, in := byID[id]; !in || !ok(m) {
				missing = append(missing, fmt.Sprintf("%s (in the roster: %v, reporting %v)", id, in, m.Info))
			}
		}
		if len(missing) == 0 {
			return time.Since(began)
		}
		if time.Since(began) > timeout {
			t.Fatalf("after %v these processes are not there yet: %v", timeout, missing)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// members reads the stack's roster.
func (s *stack) members(t *testing.T) []directory.Member {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Redis, DisableIdentity: true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	members, err := redisdir.NewRoster(c, "", 0).Members(ctx, "")
	if err != nil {
		t.Fatalf("reading the roster: %v", err)
	}
	return members
}

// container is what the test reads of one container.
type container struct {
	ID, Service, Status, Health string
	Restarts                    int
	StartedAt                   string
}

// containers returns the stack's containers (running or not) by service.
func (s *stack) containers(ctx context.Context) (map[string]container, error) {
	out, err := s.run(ctx, "docker", "ps", "-a", "-q", "--no-trunc", "--filter", "label=com.docker.compose.project="+s.project)
	if err != nil {
		return nil, fmt.Errorf("docker ps: %v: %s", err, out)
	}
	ids := strings.Fields(out)
	res := map[string]container{}
	if len(ids) == 0 {
		return res, nil
	}
	out, err = s.run(ctx, "docker", append([]string{"inspect"}, ids...)...)
	if err != nil {
		return nil, fmt.Errorf("docker inspect: %v: %s", err, out)
	}
	var inspected []struct {
		ID           string `json:"Id"`
		RestartCount int
		State        struct {
			Status    string
			StartedAt string
			Health    *struct{ Status string }
		}
		Config struct{ Labels map[string]string }
	}
	if err := json.Unmarshal([]byte(out), &inspected); err != nil {
		return nil, fmt.Errorf("docker inspect: %v", err)
	}
	for _, c := range inspected {
		if c.Config.Labels["com.docker.compose.oneoff"] == "True" { // compose run containers
			continue
		}
		svc := c.Config.Labels["com.docker.compose.service"]
		res[svc] = container{ID: c.ID, Service: svc, Status: c.State.Status, Restarts: c.RestartCount, StartedAt: c.State.StartedAt}
		if c.State.Health != nil {
			cc := res[svc]
			cc.Health = c.State.Health.Status
			res[svc] = cc
		}
	}
	return res, nil
}

// waitHealthy waits until every stack service has a running container that
// is healthy (or simply running when the service has no health check).
// A container that exits or restarts on the way fails the test.
func (s *stack) waitHealthy(t *testing.T, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var pending []string
	for {
		cs, err := s.containers(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pending = pending[:0]
		for _, name := range s.stackServices() {
			c, ok := cs[name]
			switch {
			case !ok:
				pending = append(pending, name+" (no container)")
			case c.Status == "exited" || c.Status == "dead" || c.Restarts > 0:
				t.Fatalf("service %s: container %s (restarts %d) while starting", name, c.Status, c.Restarts)
			case c.Status != "running":
				pending = append(pending, name+" ("+c.Status+")")
			case s.config.Services[name].Healthcheck != nil && c.Health != "healthy":
				pending = append(pending, name+" ("+c.Health+")")
			}
		}
		if len(pending) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not healthy after %v: %v", timeout, pending)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// waitService waits until one service's container is running and healthy.
func (s *stack) waitService(t *testing.T, name string, timeout time.Duration) container {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		cs, err := s.containers(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		c := cs[name]
		if c.Status == "running" && (s.config.Services[name].Healthcheck == nil || c.Health == "healthy") {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("service %s not healthy after %v: %+v", name, timeout, c)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// removeLeftovers brings down the stacks of earlier e2e runs that were
// killed before their cleanup (the lock is ours, so none of them runs).
func (s *stack) removeLeftovers() {
	projects := map[string]bool{}
	for _, what := range [][]string{
		{"ps", "-a", "--format", `{{.Label "com.docker.compose.project"}}`},
		{"network", "ls", "--format", `{{.Label "com.docker.compose.project"}}`},
		{"volume", "ls", "--format", `{{.Label "com.docker.compose.project"}}`},
	} {
		out, err := s.run(context.Background(), "docker", what...)
		if err != nil {
			s.t.Fatalf("docker %v: %v\n%s", what, err, out)
		}
		for _, p := range strings.Fields(out) {
			if strings.HasPrefix(p, projectPrefix) {
				projects[p] = true
			}
		}
	}
	for _, p := range sortedKeys(projects) {
		s.t.Logf("removing the leftover stack %s of a killed run", p)
		args := append(slices.Clone(s.compose[1:]), "-p", p)
		args = append(args, s.files...)
		if out, err := s.run(context.Background(), s.compose[0], append(args, "down", "-v", "--remove-orphans", "-t", "1")...); err != nil {
			s.t.Fatalf("removing leftover stack %s: %v\n%s", p, err, out)
		}
	}
}

// cleanup prints the logs of a failed run, then brings the stack down with
// its volumes (unless GAMEMESH_E2E_KEEP=1 keeps a failed one).
func (s *stack) cleanup() {
	if s.t.Failed() {
		out, _ := s.composeOut(context.Background(), "logs", "--no-color", "--tail", "80")
		s.t.Logf("----- compose logs (last 80 lines per service) -----\n%s----- end of compose logs -----", out)
		if os.Getenv("GAMEMESH_E2E_KEEP") == "1" {
			s.t.Logf("GAMEMESH_E2E_KEEP=1: stack %s left running; remove it with: %s -p %s %s down -v", s.project,
				strings.Join(s.compose, " "), s.project, strings.Join(s.files, " "))
			return
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := s.composeOut(ctx, "down", "-v", "--remove-orphans", "-t", "5"); err != nil {
		s.t.Errorf("compose down: %v\n%s", err, out)
	}
}

// leftovers lists what of the stack still exists: containers, networks,
// volumes (by their compose project label).
func (s *stack) leftovers(ctx context.Context) (containers, networks, volumes []string, err error) {
	filter := "label=com.docker.compose.project=" + s.project
	get := func(args ...string) ([]string, error) {
		out, err := s.run(ctx, "docker", args...)
		if err != nil {
			return nil, fmt.Errorf("docker %v: %v: %s", args, err, out)
		}
		return strings.Fields(out), nil
	}
	if containers, err = get("ps", "-a", "--filter", filter, "--format", "{{.Names}}"); err != nil {
		return
	}
	if networks, err = get("network", "ls", "--filter", filter, "--format", "{{.Name}}"); err != nil {
		return
	}
	volumes, err = get("volume", "ls", "--filter", filter, "--format", "{{.Name}}")
	return
}

// player logs a new guest in through the published gate ports; the
// connection is closed when the test ends.
func (s *stack) player(t *testing.T, device string) *client.Conn {
	t.Helper()
	return s.playerWith(t, device, client.Options{})
}

// tryPlayer is player without failing the test: a guest login and a gate
// login, the connection returned to the caller to close.
func (s *stack) tryPlayer(device string, opts client.Options) (*client.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tk, err := client.GuestLogin(ctx, s.HTTP, device)
	if err != nil {
		return nil, fmt.Errorf("guest login %s: %w", device, err)
	}
	c, err := client.Dial(ctx, s.TCP, tk.Ticket, opts)
	if err != nil {
		return nil, fmt.Errorf("gate login %s: %w", device, err)
	}
	return c, nil
}

// playerWith is player with client options (e.g. OnPush).
func (s *stack) playerWith(t *testing.T, device string, opts client.Options) *client.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tk, err := client.GuestLogin(ctx, s.HTTP, device)
	if err != nil {
		t.Fatalf("guest login %s: %v", device, err)
	}
	c, err := client.Dial(ctx, s.TCP, tk.Ticket, opts)
	if err != nil {
		t.Fatalf("gate login %s: %v", device, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
