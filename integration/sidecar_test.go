//go:build integration

package integration

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh/dapr"
)

// SidecarOptions describe one daprd.
type SidecarOptions struct {
	// AppID is the Dapr app id (it must be in the components' scopes to get them).
	AppID string
	// AppPort is the gRPC app channel port; 0 runs a sidecar without app.
	AppPort int
	// Config is the file under sidecar-config/; default config.yaml.
	Config string
	// APIToken (DAPR_API_TOKEN) and AppToken (APP_API_TOKEN) for daprd.
	APIToken, AppToken string
	// Env adds environment variables (GAMEMESH_SECRET_*, ...).
	Env []string
	// RedisAddr is where the components reach Redis (REDIS_HOST); default
	// the test's Redis itself (set it to put a proxy in between).
	RedisAddr string
	// BeforeApp starts the sidecar the way a process that reads its secrets
	// first does: StartSidecar returns once the Dapr API answers (outbound
	// health), before the app listens; call WaitHealthy after starting the app.
	BeforeApp bool
	// GRPCPort fixes the Dapr gRPC API port (0: a free one), so that an app
	// can dial its sidecar before it starts.
	GRPCPort int
	// InternalPort fixes the daprd-to-daprd port (0: a free one). Callers
	// cache a resolved address for up to a minute (mDNS address TTL 60 s, the
	// invocation resolver cache 20 s) and, for apps with a resiliency policy,
	// do not evict it on failure: an app whose sidecar comes back must come
	// back on the same address, as it does with fixed ports in production.
	InternalPort int
}

// Sidecar is a daprd of one test.
type Sidecar struct {
	t    testing.TB
	opts SidecarOptions
	bin  string
	args []string
	env  []string
	logs *logBuffer
	p    *proc

	GRPCPort, HTTPPort int
}

// StartSidecar starts daprd for opts.AppID with the project's components/
// and sidecar-config/ against r, and waits until it is healthy (with an
// app: until the app channel is up and subscriptions are read).
func StartSidecar(t testing.TB, r *Redis, opts SidecarOptions) *Sidecar {
	t.Helper()
	root := repoRoot(t)
	if opts.Config == "" {
		opts.Config = "config.yaml"
	}
	s := &Sidecar{t: t, opts: opts, bin: daprdPath(t), logs: &logBuffer{max: 512 << 10},
		GRPCPort: opts.GRPCPort, HTTPPort: freePort(t)}
	if s.GRPCPort == 0 {
		s.GRPCPort = freePort(t)
	}
	if opts.InternalPort == 0 {
		opts.InternalPort = freePort(t)
	}
	s.args = []string{
		"--app-id", opts.AppID,
		"--mode", "standalone",
		"--dapr-grpc-port", strconv.Itoa(s.GRPCPort),
		"--dapr-http-port", strconv.Itoa(s.HTTPPort),
		"--dapr-internal-grpc-port", strconv.Itoa(opts.InternalPort),
		"--dapr-listen-addresses", "127.0.0.1",
		"--metrics-port", strconv.Itoa(freePort(t)),
		"--metrics-listen-address", "127.0.0.1",
		"--resources-path", filepath.Join(root, "components"),
		"--resources-path", filepath.Join(root, "sidecar-config", "resiliency"),
		"--config", filepath.Join(root, "sidecar-config", opts.Config),
		"--log-level", "info",
		"--dapr-graceful-shutdown-seconds", "1",
	}
	if opts.AppPort != 0 {
		s.args = append(s.args, "--app-port", strconv.Itoa(opts.AppPort), "--app-protocol", "grpc", "--app-channel-address", "127.0.0.1")
	}
	s.env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"REDIS_HOST=" + cmp.Or(opts.RedisAddr, r.Addr()),
		"DAPR_HOST_IP=127.0.0.1",
	}
	if opts.APIToken != "" {
		s.env = append(s.env, "DAPR_API_TOKEN="+opts.APIToken)
	}
	if opts.AppToken != "" {
		s.env = append(s.env, "APP_API_TOKEN="+opts.AppToken)
	}
	s.env = append(s.env, opts.Env...)
	dumpLogsOnFailure(t, "daprd "+opts.AppID, s.logs)
	s.start(opts.BeforeApp)
	return s
}

// start runs daprd and waits for its outbound health (the API answers) or
// its full health (app channel up, subscriptions read).
func (s *Sidecar) start(outboundOnly bool) {
	s.t.Helper()
	s.p = start(s.t, "daprd "+s.opts.AppID, s.bin, s.args, s.env, s.logs)
	path := "/v1.0/healthz"
	if outboundOnly {
		path = "/v1.0/healthz/outbound"
	}
	s.waitHealth(path)
}

// WaitHealthy waits until the sidecar is fully healthy (after BeforeApp).
func (s *Sidecar) WaitHealthy() {
	s.t.Helper()
	s.waitHealth("/v1.0/healthz")
}

func (s *Sidecar) waitHealth(path string) {
	s.t.Helper()
	url := fmt.Sprintf("http://127.0.0.1:%d%s", s.HTTPPort, path)
	began := time.Now()
	ok := waitUntil(startTimeout, func() bool {
		if s.p.exited() {
			return true
		}
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusNoContent
	})
	if s.p.exited() {
		s.t.Fatalf("daprd %s exited during start: %v", s.opts.AppID, s.p.err)
	}
	if !ok {
		s.t.Fatalf("daprd %s not healthy (%s) after %v", s.opts.AppID, path, startTimeout)
	}
	s.t.Logf("daprd %s %s in %v (grpc %d, http %d)", s.opts.AppID, path, time.Since(began).Round(time.Millisecond), s.GRPCPort, s.HTTPPort)
}

// GRPCAddr is the address of the sidecar's gRPC API.
func (s *Sidecar) GRPCAddr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.GRPCPort)) }

// Kill crashes the sidecar (SIGKILL).
func (s *Sidecar) Kill() { s.p.kill() }

// Restart starts a stopped or killed sidecar again on the same ports.
func (s *Sidecar) Restart() {
	s.t.Helper()
	s.p.stop(5 * time.Second)
	s.start(false)
}

// Client dials the sidecar (closed at the end of the test).
func (s *Sidecar) Client(t testing.TB) *dapr.Client {
	t.Helper()
	c, err := dapr.Dial(dapr.Options{Address: s.GRPCAddr(), APIToken: s.opts.APIToken, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("dial %s: %v", s.opts.AppID, err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatalf("sidecar %s: %v", s.opts.AppID, err)
	}
	return c
}
