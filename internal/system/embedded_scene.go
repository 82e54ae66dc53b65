package system

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/feature"
	"github.com/gamemesh/gamemesh/gate"
	"github.com/gamemesh/gamemesh/scenehost"
)

// EmbeddedScene configures the scene host of `gamemesh up`: one host in
// process owning the city and every dungeon instance; the gate links to it
// over loopback gRPC like any gate to any host.
type EmbeddedScene struct {
	// Disabled runs no scene host (scene routes then answer UNKNOWN_ROUTE).
	Disabled bool
	// ID names the host (default DefaultSceneHostID).
	ID string
	// Addr is the link listen address (default 127.0.0.1:0, loopback only).
	Addr string
	// TickRate in Hz (default 20).
	TickRate int
}

// embeddedScene is the in-process scene host and its scene directory.
type embeddedScene struct {
	host     *scenehost.Host
	scenes   *directory.MemoryScenes
	roster   *directory.MemoryRoster
	announce *directory.Announcer
	stopRep  func()
}

func newEmbeddedScene(cfg EmbeddedScene, p sceneParts) (*embeddedScene, error) {
	if cfg.Disabled {
		return nil, nil
	}
	if cfg.ID == "" {
		cfg.ID = DefaultSceneHostID
	}
	es := &embeddedScene{scenes: directory.NewMemoryScenes(), roster: p.roster.(*directory.MemoryRoster)}
	p.scenes, p.tickRate = es.scenes, cfg.TickRate
	h, err := newSceneHost(cfg.ID, cfg.Addr, p)
	if err != nil {
		return nil, err
	}
	es.host = h
	return es, nil
}

// locator is what the gate finds scene hosts with (nil without a host).
func (es *embeddedScene) locator() gate.SceneHosts {
	if es == nil {
		return nil
	}
	return directory.SceneLocator{Scenes: es.scenes, Roster: es.roster}
}

func (es *embeddedScene) start(ctx context.Context, roster *directory.MemoryRoster, flags *feature.Flags, lua *Lua, log *slog.Logger) error {
	if es == nil {
		return nil
	}
	if err := es.host.Start(ctx); err != nil {
		return fmt.Errorf("system: %w", err)
	}
	es.announce, es.stopRep = newAnnouncer(roster, sceneMember(es.host, flags, lua), log)
	if err := es.announce.Start(ctx); err != nil {
		return fmt.Errorf("system: %w", err)
	}
	return nil
}

func (es *embeddedScene) stop(ctx context.Context) error {
	if es == nil || es.announce == nil {
		return nil
	}
	es.stopRep()
	return errors.Join(es.announce.Stop(ctx), es.host.Stop(ctx))
}

// SceneHost returns the in-process scene host (nil when disabled).
func (e *Embedded) SceneHost() *scenehost.Host {
	if e.scene == nil {
		return nil
	}
	return e.scene.host
}
