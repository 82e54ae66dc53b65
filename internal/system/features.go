package system

import (
	"fmt"
	"log/slog"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/feature"
	"github.com/gamemesh/gamemesh/gate"
)

// newFlags builds the feature switches and live settings over src, with their
// metrics on reg (the process registry). Gate limits given on the command line
// become the defaults of their live settings, so a flag is not silently
// replaced by the table's default.
func newFlags(src gamemesh.ConfigSource, gc gate.Config, log *slog.Logger, reg prometheus.Registerer) (*feature.Flags, error) {
	defaults := map[string]string{}
	if gc.MaxOnline > 0 {
		defaults["gate.max_online"] = strconv.Itoa(gc.MaxOnline)
	}
	if gc.QueueCap > 0 {
		defaults["gate.queue_cap"] = strconv.Itoa(gc.QueueCap)
	}
	if gc.AdmissionRate > 0 {
		defaults["gate.admission_rate"] = strconv.FormatFloat(gc.AdmissionRate, 'g', -1, 64)
	}
	f, err := feature.New(feature.Config{Defaults: defaults},
		feature.Deps{Source: src, Logger: log.With("part", "feature"), Metrics: reg})
	if err != nil {
		return nil, fmt.Errorf("system: %w", err)
	}
	return f, nil
}

// watchGateLimits applies the live gate settings to g whenever they change.
func watchGateLimits(f *feature.Flags, g *gate.Gate, log *slog.Logger) (stop func()) {
	return f.Watch(func(s *feature.Snapshot) {
		err := g.SetLimits(gate.Limits{
			MaxOnline:     s.Int(feature.GateMaxOnline),
			QueueCap:      s.Int(feature.GateQueueCap),
			AdmissionRate: s.Float(feature.GateAdmissionRate),
			RateLimit:     s.Float(feature.GateRateLimit),
			RateBurst:     s.Int(feature.GateRateBurst),
		})
		if err != nil {
			log.Warn("live gate limits refused", "err", err)
		}
	})
}

// watchLuaLimits applies the live Lua settings (pool size, per-call wall
// deadline and CPU budget) to the running pool.
func watchLuaLimits(f *feature.Flags, l *Lua, log *slog.Logger) (stop func()) {
	return f.Watch(func(s *feature.Snapshot) {
		lim := l.Pool().Limits()
		lim.Workers = s.Int(feature.LuaPoolSize)
		lim.CallTimeout = s.Duration(feature.LuaCallDeadline)
		lim.CPUTime = s.Duration(feature.LuaCPUBudget)
		if err := l.Pool().SetLimits(lim); err != nil {
			log.Warn("live Lua limits refused", "err", err)
		}
	})
}
