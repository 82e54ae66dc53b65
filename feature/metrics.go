package feature

import (
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the Prometheus collectors of one Flags.
type metrics struct {
	version      *prometheus.GaugeVec
	enabled      *prometheus.GaugeVec
	errors       *prometheus.CounterVec
	refused      *prometheus.CounterVec
	resubscribes prometheus.Counter
	repairs      prometheus.Counter
}

// newMetrics creates the collectors and registers them on reg (nil: not
// registered). On a registration error nothing stays registered.
func newMetrics(f *Flags, reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		version: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gamemesh_feature_config_version",
			Help: "Version of the value in force for each watched config key (0: absent, default in force; -1: not a number).",
		}, []string{"key"}),
		enabled: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gamemesh_feature_enabled",
			Help: "1 if the system is switched on, 0 if off.",
		}, []string{"system"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gamemesh_feature_config_errors_total",
			Help: "Failed calls to the configuration store, by operation (get, subscribe).",
		}, []string{"op"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gamemesh_feature_config_refused_total",
			Help: "Invalid config values refused (the last valid value stayed in force), by key.",
		}, []string{"key"}),
		resubscribes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gamemesh_feature_config_resubscribes_total",
			Help: "Subscriptions made again after a failure or a missed notification.",
		}),
		repairs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gamemesh_feature_config_repairs_total",
			Help: "Changes found by a periodic re-read that no notification had delivered.",
		}),
	}
	m.errors.WithLabelValues("get")
	m.errors.WithLabelValues("subscribe")
	if reg == nil {
		return m, nil
	}
	collectors := []prometheus.Collector{
		m.version, m.enabled, m.errors, m.refused, m.resubscribes, m.repairs,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gamemesh_feature_config_staleness_seconds",
			Help: "Seconds since the last successful read of, or notification from, the configuration store (since start while none succeeded).",
		}, func() float64 { return f.Staleness().Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gamemesh_feature_config_synced",
			Help: "1 once a read of the configuration store has succeeded since start, 0 while running on the defaults.",
		}, func() float64 { return boolGauge(f.Synced()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gamemesh_feature_generation",
			Help: "Number of changes of switches and settings applied by this process.",
		}, func() float64 { return float64(f.Current().Generation()) }),
	}
	for i, c := range collectors {
		if err := reg.Register(c); err != nil {
			for _, done := range collectors[:i] {
				reg.Unregister(done)
			}
			return nil, fmt.Errorf("feature: registering metrics: %w", err)
		}
	}
	return m, nil
}

// observe sets the gauges of every watched key and system from s.
func (m *metrics) observe(keys []string, info map[string]keyInfo, s *Snapshot) {
	for _, k := range keys {
		m.version.WithLabelValues(k).Set(versionGauge(s.Version(k)))
		if in := info[k]; in.setting < 0 {
			m.enabled.WithLabelValues(in.system).Set(boolGauge(s.Enabled(in.system)))
		}
	}
}

// versionGauge turns a version into a gauge value: 0 when absent, -1 when
// not a number.
func versionGauge(v string) float64 {
	if v == "" {
		return 0
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return -1
	}
	return x
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
