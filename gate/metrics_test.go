package gate

import (
	"container/list"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gamemesh/gamemesh"
)

// sample is one gathered metric: its labels and value (a histogram's value
// is its sample count).
type sample struct {
	labels map[string]string
	value  float64
}

// gather returns the samples of the metric family name.
func gather(t *testing.T, reg *prometheus.Registry, name string) []sample {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []sample
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			s := sample{labels: map[string]string{}}
			for _, l := range m.GetLabel() {
				s.labels[l.GetName()] = l.GetValue()
			}
			switch {
			case m.GetCounter() != nil:
				s.value = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				s.value = m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				s.value = float64(m.GetHistogram().GetSampleCount())
			}
			out = append(out, s)
		}
	}
	return out
}

// value returns the value of name with exactly labels kv (pairs), 0 if absent.
func value(t *testing.T, reg *prometheus.Registry, name string, kv ...string) float64 {
	t.Helper()
next:
	for _, s := range gather(t, reg, name) {
		if len(s.labels) != len(kv)/2 {
			continue
		}
		for i := 0; i < len(kv); i += 2 {
			if s.labels[kv[i]] != kv[i+1] {
				continue next
			}
		}
		return s.value
	}
	return 0
}

// newMetricsEnv starts a gate that keeps metrics on a fresh registry and
// serves them at /metrics.
func newMetricsEnv(t *testing.T, mutate func(*Config)) (*env, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	e := newEnvDeps(t, mutate, nil, func(d *Deps) {
		d.Metrics = reg
		d.MetricsHandler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	})
	return e, reg
}

// A login and a call move the gauges, counters and the route's histogram.
func TestMetricsLoginAndCall(t *testing.T) {
	e, reg := newMetricsEnv(t, nil)
	if got := value(t, reg, "gamemesh_gate_sessions_online"); got != 0 {
		t.Fatalf("online %v before any login", got)
	}
	c := e.dial()
	c.login(e, "p1")
	eventually(t, "a login counted OK", func() bool {
		return value(t, reg, "gamemesh_gate_logins_total", "code", "OK") == 1
	})
	if got := value(t, reg, "gamemesh_gate_sessions_online"); got != 1 {
		t.Fatalf("online gauge %v after a login, want 1", got)
	}
	if got := value(t, reg, "gamemesh_gate_connections"); got != 1 {
		t.Fatalf("connections gauge %v, want 1", got)
	}
	if got := value(t, reg, "gamemesh_gate_connections_accepted_total"); got != 1 {
		t.Fatalf("connections accepted %v, want 1", got)
	}

	c.expectResponse(c.request("echo.echo", []byte("hi")), gamemesh.CodeOK)
	c.expectResponse(c.request("echo.echo", []byte("hi")), gamemesh.CodeOK)
	c.expectResponse(c.request("small.put", make([]byte, 17)), gamemesh.CodeBodyTooLarge)
	if got := value(t, reg, "gamemesh_gate_call_duration_seconds", "route", "echo.echo", "code", "OK"); got != 2 {
		t.Fatalf("echo.echo OK calls observed %v, want 2", got)
	}
	if got := value(t, reg, "gamemesh_gate_call_duration_seconds", "route", "small.put", "code", "BODY_TOO_LARGE"); got != 1 {
		t.Fatalf("small.put BODY_TOO_LARGE calls observed %v, want 1", got)
	}
	if got := value(t, reg, "gamemesh_gate_frames_received_total"); got != 4 {
		t.Fatalf("frames received %v, want 4 (login and three requests)", got)
	}
	eventually(t, "4 frames sent", func() bool {
		return value(t, reg, "gamemesh_gate_frames_sent_total") == 4
	})

	_ = c.c.Close()
	eventually(t, "the online gauge back to 0", func() bool {
		return value(t, reg, "gamemesh_gate_sessions_online") == 0 && value(t, reg, "gamemesh_gate_connections") == 0
	})
}

// Refused logins count by code, and so do their kicks.
func TestMetricsRefusedLoginAndKick(t *testing.T) {
	e, reg := newMetricsEnv(t, nil)
	c := e.dial()
	c.sendLogin("not a ticket")
	c.expectKick(gamemesh.CodeBadTicket)
	eventually(t, "a BAD_TICKET login and kick", func() bool {
		return value(t, reg, "gamemesh_gate_logins_total", "code", "BAD_TICKET") == 1 &&
			value(t, reg, "gamemesh_gate_kicks_total", "code", "BAD_TICKET") == 1
	})
	if got := value(t, reg, "gamemesh_gate_logins_total", "code", "OK"); got != 0 {
		t.Fatalf("OK logins %v, want 0", got)
	}
}

// Rate-limited frames are counted, and the requests refused for it too.
func TestMetricsRateLimited(t *testing.T) {
	e, reg := newMetricsEnv(t, func(c *Config) {
		c.RateLimit = 0.001
		c.RateBurst = 1
		c.MaxRateRefusals = 100
	})
	c := e.dial()
	c.login(e, "p1")
	c.expectResponse(c.request("echo.echo", nil), gamemesh.CodeOK)
	c.expectResponse(c.request("echo.echo", nil), gamemesh.CodeRateLimited)
	c.expectResponse(c.request("echo.echo", nil), gamemesh.CodeRateLimited)
	if got := value(t, reg, "gamemesh_gate_frames_rate_limited_total"); got != 2 {
		t.Fatalf("rate-limited frames %v, want 2", got)
	}
	if got := value(t, reg, "gamemesh_gate_requests_refused_total", "code", "RATE_LIMITED"); got != 2 {
		t.Fatalf("requests refused RATE_LIMITED %v, want 2", got)
	}
}

// Made-up routes add no label: malformed ones never reach a call, and calls
// to routes that do not exist are labelled "other".
func TestMetricsUnknownRoutesAddNoLabels(t *testing.T) {
	e, reg := newMetricsEnv(t, nil)
	c := e.dial()
	c.login(e, "p1")
	const n = 50
	for i := range n {
		c.expectResponse(c.request(fmt.Sprintf("nope%d.m%d", i, i), nil), gamemesh.CodeUnknownRoute)
		c.expectResponse(c.request(fmt.Sprintf("nodot%d", i), nil), gamemesh.CodeUnknownRoute)
	}
	c.expectResponse(c.request("admin.secret", nil), gamemesh.CodeUnknownRoute) // private
	c.expectResponse(c.request("echo.echo", nil), gamemesh.CodeOK)

	routes := map[string]float64{}
	for _, s := range gather(t, reg, "gamemesh_gate_call_duration_seconds") {
		routes[s.labels["route"]] += s.value
	}
	want := map[string]float64{"echo.echo": 1, otherRoute: n + 1}
	if len(routes) != len(want) || routes["echo.echo"] != want["echo.echo"] || routes[otherRoute] != want[otherRoute] {
		t.Fatalf("calls by route label %v, want %v", routes, want)
	}
	if got := value(t, reg, "gamemesh_gate_requests_refused_total", "code", "UNKNOWN_ROUTE"); got != n {
		t.Fatalf("malformed routes refused %v, want %d", got, n)
	}
}

// Past the cap, routes share the "other" label, whatever their result.
func TestMetricsRouteLabelCap(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := newMetrics(&Gate{conns: map[*session]struct{}{}, queue: list.New()}, reg)
	if err != nil {
		t.Fatal(err)
	}
	m.routes.max = 3
	for i := range 10 {
		m.callDone(fmt.Sprintf("sys.m%d", i), gamemesh.CodeOK, time.Millisecond)
		m.callDone(fmt.Sprintf("sys.m%d", i), gamemesh.CodeNotFound, time.Millisecond)
	}
	labels := map[string]bool{}
	for _, s := range gather(t, reg, "gamemesh_gate_call_duration_seconds") {
		labels[s.labels["route"]+"/"+s.labels["code"]] = true
	}
	for _, r := range []string{"sys.m0", "sys.m1", "sys.m2", otherRoute} {
		if !labels[r+"/OK"] || !labels[r+"/NOT_FOUND"] {
			t.Errorf("labels of %s missing", r)
		}
	}
	if len(labels) != 8 {
		t.Fatalf("labels %v, want 3 routes and other, each with OK and NOT_FOUND", labels)
	}
	if got := value(t, reg, "gamemesh_gate_call_duration_seconds", "route", otherRoute, "code", "OK"); got != 7 {
		t.Fatalf("other/OK %v, want 7", got)
	}
	// Codes outside the catalogue share one label too.
	m.callDone("sys.m0", gamemesh.Code(9999), time.Millisecond)
	if got := value(t, reg, "gamemesh_gate_call_duration_seconds", "route", "sys.m0", "code", "UNKNOWN"); got != 1 {
		t.Fatalf("sys.m0/UNKNOWN %v, want 1", got)
	}
}

// GET /metrics serves the registry when a handler is given, and is absent
// otherwise.
func TestMetricsEndpoint(t *testing.T) {
	e, _ := newMetricsEnv(t, nil)
	status, body := httpGet(t, "http://"+e.g.HTTPAddr()+"/metrics")
	if status != http.StatusOK || !strings.Contains(body, "gamemesh_gate_sessions_online 0") {
		t.Fatalf("GET /metrics: %d %q", status, body)
	}
	plain := newEnv(t, nil, nil)
	if status, _ := httpGet(t, "http://"+plain.g.HTTPAddr()+"/metrics"); status != http.StatusNotFound {
		t.Fatalf("GET /metrics without a handler: %d, want 404", status)
	}
}

// A second gate on the same registry is refused at New.
func TestMetricsDuplicateRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := newEnvDeps(t, nil, nil, func(d *Deps) { d.Metrics = reg })
	d := e.g.deps
	if _, err := New(testConfig(), d); err == nil || !strings.Contains(err.Error(), "registering metrics") {
		t.Fatalf("second gate on one registry: %v, want a registration error", err)
	}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: ioWait}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	c.CloseIdleConnections()
	return resp.StatusCode, string(b)
}
