package system

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// processMetrics is the one metrics registry of a process: every part
// registers on it (feature switches, the gate), and handler serves it.
type processMetrics struct {
	reg     *prometheus.Registry
	handler http.Handler
}

// newProcessMetrics returns a fresh registry holding the Go runtime and
// process collectors, and its HTTP handler (which also counts its own scrape
// errors there). Call it once per process.
func newProcessMetrics() *processMetrics {
	reg := prometheus.NewRegistry()
	// Two distinct collectors on an empty registry: registration cannot fail.
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &processMetrics{reg: reg, handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})}
}
