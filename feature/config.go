package feature

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gamemesh/gamemesh"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultReconcile   = 5 * time.Second
	DefaultReadTimeout = 2 * time.Second
	DefaultMinBackoff  = 100 * time.Millisecond
	DefaultMaxBackoff  = 5 * time.Second
)

// Config configures Flags. Zero fields take the defaults above.
type Config struct {
	// Systems are system ids watched in addition to DefaultSystems (Lua
	// modules, game-specific systems). A system not watched is always on.
	Systems []string
	// Defaults overrides the table default of settings, by name (for example
	// from a process's flags: {"gate.max_online": "20000"}). Each value must
	// be valid for its setting.
	Defaults map[string]string
	// Reconcile is how often every key is re-read, catching notifications
	// lost while the store or its subscription was down.
	Reconcile time.Duration
	// ReadTimeout bounds each Get.
	ReadTimeout time.Duration
	// MinBackoff and MaxBackoff bound the pause between attempts to
	// subscribe after Subscribe failed.
	MinBackoff, MaxBackoff time.Duration
	// RequireInitialRead makes Start fail when the first read of the store
	// fails. By default Start succeeds on the defaults, logs it, reports
	// synced = 0 and keeps trying: a process can start while the
	// configuration store is down (but a switched-off system is on until the
	// store answers).
	RequireInitialRead bool
}

// Deps are the services Flags uses. Only Source is required.
type Deps struct {
	// Source is the configuration store.
	Source gamemesh.ConfigSource
	// Logger receives refusals and the source's state changes (discarded when nil).
	Logger *slog.Logger
	// Metrics is where the metrics are registered (none when nil): one Flags
	// per registry, or wrap it with prometheus.WrapRegistererWithPrefix.
	Metrics prometheus.Registerer
	// Now is the clock of the staleness metric (time.Now when nil).
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Reconcile == 0 {
		c.Reconcile = DefaultReconcile
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.MinBackoff == 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = max(DefaultMaxBackoff, c.MinBackoff)
	}
	return c
}

// validate reports every problem of a defaulted Config at once, and returns
// the defaults of every setting.
func (c Config) validate() (defaults [numSettings]float64, err error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("feature: config: "+format, args...)) }
	for _, id := range c.Systems {
		if !ValidSystem(id) {
			bad("system id %.40q must be 1 to 32 characters of [A-Za-z0-9_]", id)
		}
	}
	for i := range table {
		defaults[i] = table[i].Default
	}
	for name, raw := range c.Defaults {
		i := specIndex(name)
		if i < 0 {
			_, err := SettingKey(name)
			bad("Defaults: %s", gamemesh.MessageOf(err))
			continue
		}
		v, err := table[i].Parse(raw)
		if err != nil {
			bad("Defaults: %s", gamemesh.MessageOf(err))
			continue
		}
		defaults[i] = v
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"Reconcile", c.Reconcile}, {"ReadTimeout", c.ReadTimeout}, {"MinBackoff", c.MinBackoff}, {"MaxBackoff", c.MaxBackoff}} {
		if d.v < 0 {
			bad("%s %v must be positive", d.name, d.v)
		}
	}
	if c.MaxBackoff < c.MinBackoff {
		bad("MaxBackoff %v is below MinBackoff %v", c.MaxBackoff, c.MinBackoff)
	}
	return defaults, errors.Join(errs...)
}

func (d Deps) withDefaults() Deps {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return d
}
