package gate

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// maxRouteLabels caps the distinct route labels of the call histogram; later
// routes share the label otherRoute.
const maxRouteLabels = 256

// otherRoute is the route label of calls to routes beyond maxRouteLabels and
// of calls that did not show the route exists.
const otherRoute = "other"

// callBuckets are the call latency buckets, in seconds, around the default
// 300ms call deadline.
var callBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}

// metrics are the gate's Prometheus collectors. A nil *metrics counts nothing,
// so the gate calls its methods unconditionally.
type metrics struct {
	accepted    prometheus.Counter
	logins      *prometheus.CounterVec // code
	kicks       *prometheus.CounterVec // code
	refused     *prometheus.CounterVec // code
	framesIn    prometheus.Counter
	framesOut   prometheus.Counter
	rateLimited prometheus.Counter
	calls       *prometheus.HistogramVec // route, code
	routes      routeLabels
	queueWait   prometheus.Histogram
	resumes     *prometheus.CounterVec // code
	detaches    prometheus.Counter
}

// queueBuckets are the queue wait buckets, in seconds.
var queueBuckets = []float64{.01, .05, .1, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}

// newMetrics creates the gate's collectors and registers them on reg; nil
// when reg is nil.
func newMetrics(g *Gate, reg prometheus.Registerer) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{
		accepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gamemesh_gate_connections_accepted_total",
			Help: "Client connections accepted (TCP and WebSocket).",
		}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gamemesh_gate_logins_total",
			Help: "Logins by result: OK when the session came online, else the refusal code.",
		}, []string{"code"}),
		kicks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gamemesh_gate_kicks_total",
			Help: "Sessions closed with a KICK frame, by code.",
		}, []string{"code"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gamemesh_gate_requests_refused_total",
			Help: "Requests answered by the gate without a call, by code.",
		}, []string{"code"}),
		framesIn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gamemesh_gate_frames_received_total",
			Help: "Frames read from clients.",
		}),
		framesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gamemesh_gate_frames_sent_total",
			Help: "Frames written to clients.",
		}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gamemesh_gate_frames_rate_limited_total",
			Help: "Client frames refused by the per-connection rate limit.",
		}),
		calls: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gamemesh_gate_call_duration_seconds",
			Help:    `Client calls by route and result code ("other": routes beyond the label cap or not shown to exist).`,
			Buckets: callBuckets,
		}, []string{"route", "code"}),
	}
	m.queueWait = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "gamemesh_gate_queue_wait_seconds",
		Help:    "How long admitted logins waited in the login queue.",
		Buckets: queueBuckets,
	})
	m.resumes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gamemesh_gate_resumes_total",
		Help: "Session resumes by result: OK, or RESUME_FAILED.",
	}, []string{"code"})
	m.detaches = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gamemesh_gate_sessions_detached_total",
		Help: "Resumable sessions that lost their connection and waited for a resume.",
	})
	m.routes.max = maxRouteLabels
	m.routes.other = m.routeEntry(otherRoute)
	collectors := []prometheus.Collector{
		m.accepted, m.logins, m.kicks, m.refused, m.framesIn, m.framesOut, m.rateLimited, m.calls,
		m.queueWait, m.resumes, m.detaches,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gamemesh_gate_sessions_detached",
			Help: "Resumable sessions waiting for their client to resume them.",
		}, func() float64 { return float64(g.Detached()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gamemesh_gate_connections",
			Help: "Client connections open.",
		}, func() float64 { return float64(g.connections()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gamemesh_gate_sessions_online",
			Help: "Players admitted on this gate.",
		}, func() float64 { return float64(g.Online()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gamemesh_gate_logins_queued",
			Help: "Logins waiting in the admission queue.",
		}, func() float64 { return float64(g.Queued()) }),
	}
	for i, c := range collectors {
		if err := reg.Register(c); err != nil {
			for _, done := range collectors[:i] {
				reg.Unregister(done)
			}
			return nil, fmt.Errorf("gate: registering metrics: %w", err)
		}
	}
	return m, nil
}

// codeLabel names code for a label: the catalogue name without its prefix,
// or "UNKNOWN" for a number outside the catalogue (labels stay bounded).
func codeLabel(code gamemesh.Code) string {
	if _, ok := gamev1.ErrorCode_name[int32(code)]; !ok {
		return "UNKNOWN"
	}
	return strings.TrimPrefix(code.String(), "ERROR_CODE_")
}

func (m *metrics) connAccepted() {
	if m != nil {
		m.accepted.Inc()
	}
}

func (m *metrics) queueWaited(d time.Duration) {
	if m != nil {
		m.queueWait.Observe(d.Seconds())
	}
}

func (m *metrics) resume(code gamemesh.Code) {
	if m != nil {
		m.resumes.WithLabelValues(codeLabel(code)).Inc()
	}
}

func (m *metrics) detached() {
	if m != nil {
		m.detaches.Inc()
	}
}

func (m *metrics) login(code gamemesh.Code) {
	if m != nil {
		m.logins.WithLabelValues(codeLabel(code)).Inc()
	}
}

func (m *metrics) kick(code gamemesh.Code) {
	if m != nil {
		m.kicks.WithLabelValues(codeLabel(code)).Inc()
	}
}

func (m *metrics) requestRefused(code gamemesh.Code) {
	if m != nil {
		m.refused.WithLabelValues(codeLabel(code)).Inc()
	}
}

func (m *metrics) frameIn() {
	if m != nil {
		m.framesIn.Inc()
	}
}

func (m *metrics) framesSent(n int) {
	if m != nil && n > 0 {
		m.framesOut.Add(float64(n))
	}
}

func (m *metrics) frameRateLimited() {
	if m != nil {
		m.rateLimited.Inc()
	}
}

// callDone records a call to route (which passed Route.Split) that took d
// and ended with code.
func (m *metrics) callDone(route string, code gamemesh.Code, d time.Duration) {
	if m == nil {
		return
	}
	e := m.routes.lookup(m, route, code)
	if code == gamemesh.CodeOK {
		e.ok.Observe(d.Seconds())
		return
	}
	m.calls.WithLabelValues(e.label, codeLabel(code)).Observe(d.Seconds())
}

// routeEntry is one route label and its histogram for successful calls,
// resolved once.
type routeEntry struct {
	label string
	ok    prometheus.Observer
}

func (m *metrics) routeEntry(label string) *routeEntry {
	return &routeEntry{label: label, ok: m.calls.WithLabelValues(label, codeLabel(gamemesh.CodeOK))}
}

// routeLabels maps routes to their labels. A route gets its own label the
// first time a call to it ends with a code other than UNKNOWN_ROUTE,
// UNAVAILABLE, TIMEOUT, DEADLINE_EXCEEDED or INTERNAL (which a route that
// does not exist can cause, through a sidecar), while
// fewer than max routes have one; calls to other routes are labelled "other".
// So a client sending made-up routes cannot add labels, and at most max
// routes ever are.
type routeLabels struct {
	known sync.Map // route string → *routeEntry
	n     atomic.Int32
	mu    sync.Mutex // serialises additions
	max   int
	other *routeEntry
}

func (r *routeLabels) lookup(m *metrics, route string, code gamemesh.Code) *routeEntry {
	if e, ok := r.known.Load(route); ok {
		return e.(*routeEntry)
	}
	switch code {
	case gamemesh.CodeUnknownRoute, gamemesh.CodeUnavailable, gamemesh.CodeTimeout,
		gamemesh.CodeDeadlineExceeded, gamemesh.CodeInternal:
		return r.other
	}
	if int(r.n.Load()) >= r.max {
		return r.other
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.known.Load(route); ok {
		return e.(*routeEntry)
	}
	if int(r.n.Load()) >= r.max {
		return r.other
	}
	e := m.routeEntry(strings.Clone(route))
	r.known.Store(e.label, e)
	r.n.Add(1)
	return e
}
