package scenehost

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the host's Prometheus metrics.
type metrics struct {
	tick          prometheus.Histogram
	overruns      prometheus.Counter
	inputsDropped prometheus.Counter
	linkOverflow  prometheus.Counter
	saves         *prometheus.CounterVec
	savesPending  prometheus.Gauge
	eventsDropped prometheus.Counter
	eventsFailed  prometheus.Counter
	rulesErrors   prometheus.Counter
}

func newMetrics(h *Host, reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		tick: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "gamemesh_scene_tick_seconds", Help: "Time one scene tick took (inputs, simulation, outputs).",
			Buckets: []float64{.0005, .001, .002, .005, .01, .015, .02, .025, .035, .05, .1}}),
		overruns:      prometheus.NewCounter(prometheus.CounterOpts{Name: "gamemesh_scene_tick_overruns_total", Help: "Ticks that took longer than the tick period."}),
		inputsDropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "gamemesh_scene_inputs_dropped_total", Help: "Client inputs refused with RATE_LIMITED (queue or per-tick cap)."}),
		linkOverflow:  prometheus.NewCounter(prometheus.CounterOpts{Name: "gamemesh_scene_link_overflow_total", Help: "Tick outputs not queued because a gate link was full or closed."}),
		saves:         prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gamemesh_scene_saves_total", Help: "Player record saves by result."}, []string{"result"}),
		savesPending:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "gamemesh_scene_saves_pending", Help: "Held records with unsaved changes (the retry buffer while the store is down)."}),
		eventsDropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "gamemesh_scene_events_dropped_total", Help: "Game events dropped (queue full or gave up at stop)."}),
		eventsFailed:  prometheus.NewCounter(prometheus.CounterOpts{Name: "gamemesh_scene_event_publish_failures_total", Help: "Failed game event publish attempts (retried)."}),
		rulesErrors:   prometheus.NewCounter(prometheus.CounterOpts{Name: "gamemesh_scene_rules_errors_total", Help: "Ticks whose combat rules failed."}),
	}
	if reg == nil {
		return m, nil
	}
	held := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gamemesh_scene_players_held", Help: "Players held (online or waiting for their last save)."},
		func() float64 { return float64(h.Load()) })
	scenes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gamemesh_scene_scenes", Help: "Scenes running."},
		func() float64 { return float64(len(h.Scenes())) })
	var errs []error
	for _, c := range []prometheus.Collector{m.tick, m.overruns, m.inputsDropped, m.linkOverflow, m.saves, m.savesPending,
		m.eventsDropped, m.eventsFailed, m.rulesErrors, held, scenes} {
		errs = append(errs, reg.Register(c))
	}
	return m, errors.Join(errs...)
}

func (m *metrics) tickDone(d, period time.Duration) {
	m.tick.Observe(d.Seconds())
	if d > period {
		m.overruns.Inc()
	}
}
