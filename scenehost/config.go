package scenehost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/scene"
)

// Defaults of Config.
const (
	DefaultTickRate      = 20
	DefaultFlushInterval = 30 * time.Second
	DefaultClaimTTL      = 6 * time.Second
	DefaultQueuePerScene = 4096
	DefaultQueuePerPlayr = 16
	DefaultMaxHeld       = 20000
	DefaultEventBuffer   = 1 << 16
)

// Config configures a Host; zero fields take the defaults.
type Config struct {
	// ID names the host in the roster, the scene directory and the player
	// leases: 2 to 64 characters of [a-z0-9_-].
	ID string
	// Addr is where gates link to (default "127.0.0.1:0").
	Addr string
	// AdvertiseAddr is the address announced to gates (default: the bound Addr).
	AdvertiseAddr string
	// TickRate is the scenes' tick rate in Hz (default 20).
	TickRate int
	// Scenes are the scene kinds this host can run (default DefaultScenes()).
	Scenes []SceneDef
	// Static names the static scenes this host claims (nil: every static
	// scene of Scenes; empty: none, a host for dungeon instances only).
	Static []string
	// ClaimTTL is the lease of a scene in the directory (default 6 s); it is
	// renewed every third of it. A host killed loses its scenes after it.
	ClaimTTL time.Duration
	// QueuePerScene and QueuePerPlayer bound the inputs waiting for a tick.
	QueuePerScene, QueuePerPlayer int
	// MaxHeld bounds the players held: online, or waiting for their last save.
	MaxHeld int
	// EventBuffer bounds game events waiting to be published.
	EventBuffer int
	// Seed, when not 0, seeds the scenes (tests); otherwise each scene run
	// draws its own.
	Seed uint64
	// InstanceGrace is how long an empty dungeon instance waits before it
	// closes (default 10 s: a player on its way in has time to arrive).
	InstanceGrace time.Duration
}

// Features says whether a system is switched on (*feature.Flags).
type Features interface {
	Enabled(system string) bool
}

// SceneDirectory records which host owns which scene; directory.MemoryScenes
// and redisdir.Scenes implement it.
type SceneDirectory interface {
	// Claim takes scene for host, or renews host's claim, for ttl; it returns
	// the owner after the call (another host when that one holds it).
	Claim(ctx context.Context, scene, host string, ttl time.Duration) (string, error)
	// Release gives up host's claim on scene.
	Release(ctx context.Context, scene, host string) error
}

// Roster lists the live scene hosts (directory.MemoryRoster, redisdir.Roster).
type Roster interface {
	Members(ctx context.Context, kind string) ([]directory.Member, error)
}

// Deps are the services a Host uses. Subscriber, Roster, Features,
// FlushInterval, Rules, Metrics and Logger are optional.
type Deps struct {
	// Invoker reaches the player app (checkout, save, checkin, applyGrants)
	// and mail (pendingGrants, ackGrants).
	Invoker gamemesh.Invoker
	// Publisher publishes game events on "game.events".
	Publisher gamemesh.Publisher
	// Subscriber delivers this host's grant notices (player.HostGrantsTopic).
	Subscriber gamemesh.Subscriber
	// Directory is the scene directory.
	Directory SceneDirectory
	// Roster finds the least-loaded host for a new dungeon instance (nil:
	// this host takes them all).
	Roster Roster
	// Features switches systems off (nil: every one on).
	Features Features
	// FlushInterval returns the write-behind interval, read at every flush
	// round (nil: DefaultFlushInterval); the live setting scene.flush_interval_s.
	FlushInterval func() time.Duration
	// Rules resolve combat (nil: scene.DefaultRules with DefaultDropTables).
	Rules scene.Rules
	// Metrics receives the host's metrics (nil: none).
	Metrics prometheus.Registerer
	Logger  *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:0"
	}
	if c.TickRate == 0 {
		c.TickRate = DefaultTickRate
	}
	if c.Scenes == nil {
		c.Scenes = DefaultScenes()
	}
	if c.Static == nil {
		for _, d := range c.Scenes {
			if d.Static {
				c.Static = append(c.Static, d.Name)
			}
		}
	}
	if c.ClaimTTL == 0 {
		c.ClaimTTL = DefaultClaimTTL
	}
	if c.QueuePerScene == 0 {
		c.QueuePerScene = DefaultQueuePerScene
	}
	if c.QueuePerPlayer == 0 {
		c.QueuePerPlayer = DefaultQueuePerPlayr
	}
	if c.MaxHeld == 0 {
		c.MaxHeld = DefaultMaxHeld
	}
	if c.EventBuffer == 0 {
		c.EventBuffer = DefaultEventBuffer
	}
	if c.InstanceGrace == 0 {
		c.InstanceGrace = emptyGrace
	}
	return c
}

func (c Config) validate() error {
	var errs []error
	if !gamemesh.ValidKeyPart(c.ID) {
		errs = append(errs, fmt.Errorf("scenehost: id %q is not 2 to 64 characters of [a-z0-9_-]", c.ID))
	}
	if c.TickRate < 1 || c.TickRate > 100 {
		errs = append(errs, fmt.Errorf("scenehost: tick rate %d out of [1, 100]", c.TickRate))
	}
	if c.ClaimTTL < 100*time.Millisecond || c.QueuePerScene < 1 || c.QueuePerPlayer < 1 || c.MaxHeld < 1 || c.EventBuffer < 1 {
		errs = append(errs, errors.New("scenehost: claim ttl, queues, held players and event buffer must be positive"))
	}
	names := map[string]bool{}
	for _, d := range c.Scenes {
		if !gamemesh.ValidKeyPart(d.Name) || len(d.Name) > 40 || names[d.Name] {
			errs = append(errs, fmt.Errorf("scenehost: scene name %q invalid (2 to 40 of [a-z0-9_-]) or repeated", d.Name))
		}
		names[d.Name] = true
		cfg := d.Config
		cfg.ID = d.Name
		if _, err := scene.New(cfg); err != nil {
			errs = append(errs, fmt.Errorf("scenehost: scene %s: %w", d.Name, err))
		}
	}
	for _, s := range c.Static {
		i := c.def(s)
		if i < 0 || !c.Scenes[i].Static {
			errs = append(errs, fmt.Errorf("scenehost: %q is not a static scene", s))
		}
	}
	return errors.Join(errs...)
}

func (c Config) def(name string) int {
	for i, d := range c.Scenes {
		if d.Name == name {
			return i
		}
	}
	return -1
}

func (d Deps) validate() error {
	var errs []error
	if d.Invoker == nil {
		errs = append(errs, errors.New("scenehost: deps: Invoker is required"))
	}
	if d.Publisher == nil {
		errs = append(errs, errors.New("scenehost: deps: Publisher is required"))
	}
	if d.Directory == nil {
		errs = append(errs, errors.New("scenehost: deps: Directory is required"))
	}
	return errors.Join(errs...)
}
