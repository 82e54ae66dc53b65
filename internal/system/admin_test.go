package system

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func adminGet(t *testing.T, hc *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// The admin listener answers liveness at once, readiness only between
// SetReady(true) and Stop and while every check passes (a failing check is
// named in the answer), and serves the process registry.
func TestAdminHealthReadinessMetrics(t *testing.T) {
	m := newProcessMetrics()
	probe := prometheus.NewCounter(prometheus.CounterOpts{Name: "gamemesh_test_admin_probe_total", Help: "test"})
	m.reg.MustRegister(probe)
	probe.Add(3)
	var sidecarDown atomic.Bool
	a := newAdminListener("127.0.0.1:0", m.handler, []adminCheck{{name: "sidecar", check: func(ctx context.Context) error {
		if _, ok := ctx.Deadline(); !ok {
			return errors.New("check called without a deadline")
		}
		if sidecarDown.Load() {
			return errors.New("connection refused")
		}
		return nil
	}}}, slog.New(slog.DiscardHandler))
	if err := a.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = a.Stop(context.Background())
		}
	})
	hc := &http.Client{Timeout: 5 * time.Second}
	defer hc.CloseIdleConnections()
	base := "http://" + a.Addr()

	if code, body := adminGet(t, hc, base+"/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("/healthz while starting: %d %q, want 200 ok", code, body)
	}
	if code, body := adminGet(t, hc, base+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "starting") {
		t.Fatalf("/readyz before SetReady: %d %q, want 503", code, body)
	}
	a.SetReady(true)
	if code, body := adminGet(t, hc, base+"/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz when ready: %d %q, want 200", code, body)
	}
	sidecarDown.Store(true)
	if code, body := adminGet(t, hc, base+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "sidecar: connection refused") {
		t.Fatalf("/readyz with the sidecar down: %d %q, want 503 naming the sidecar", code, body)
	}
	sidecarDown.Store(false)
	if code, body := adminGet(t, hc, base+"/metrics"); code != http.StatusOK ||
		!strings.Contains(body, "gamemesh_test_admin_probe_total 3") || !strings.Contains(body, "go_goroutines ") {
		t.Fatalf("/metrics: %d, want 200 with the process registry, got:\n%s", code, body)
	}
	if code, _ := adminGet(t, hc, base+"/nothing"); code != http.StatusNotFound {
		t.Fatalf("/nothing: %d, want 404", code)
	}
	resp, err := hc.Post(base+"/readyz", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST /readyz: %d, want 405", resp.StatusCode)
	}

	hc.CloseIdleConnections()
	if err := a.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	stopped = true
	if resp, err := hc.Get(base + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatalf("/healthz after Stop answered %d, want the listener closed", resp.StatusCode)
	}
	if err := a.Stop(context.Background()); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

// An address already in use fails Start with an error naming the listener;
// no address means no listener, and its methods do nothing.
func TestAdminBadAddressAndDisabled(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	log := slog.New(slog.DiscardHandler)
	err = newAdminListener(ln.Addr().String(), nil, nil, log).Start()
	if err == nil || !strings.Contains(err.Error(), "admin listener") {
		t.Fatalf("Start on a taken address: %v, want an admin listener error", err)
	}
	if err := newAdminListener("not-an-address", nil, nil, log).Start(); err == nil {
		t.Fatal("Start on a malformed address succeeded")
	}
	a := newAdminListener("", nil, nil, log)
	if a != nil {
		t.Fatal("newAdmin with no address returned a listener")
	}
	a.SetReady(true)
	if err := a.Start(); err != nil || a.Addr() != "" || a.Stop(context.Background()) != nil {
		t.Fatal("a disabled admin listener did something")
	}
}
