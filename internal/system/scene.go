package system

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/dapr"
	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/directory/redisdir"
	"github.com/gamemesh/gamemesh/feature"
	"github.com/gamemesh/gamemesh/gate"
	"github.com/gamemesh/gamemesh/luavm"
	"github.com/gamemesh/gamemesh/scenehost"
)

// DefaultSceneHostID names the scene host of `gamemesh up`.
const DefaultSceneHostID = "scene-1"

// sceneParts is what a scene host is built on in either mode.
type sceneParts struct {
	invoker   gamemesh.Invoker
	pub       gamemesh.Publisher
	sub       gamemesh.Subscriber
	scenes    scenehost.SceneDirectory
	roster    scenehost.Roster
	flags     *feature.Flags
	lua       *Lua
	metrics   prometheus.Registerer
	log       *slog.Logger
	tickRate  int
	static    []string
	advertise string
}

func newSceneHost(id, addr string, p sceneParts) (*scenehost.Host, error) {
	deps := scenehost.Deps{
		Invoker: p.invoker, Publisher: p.pub, Subscriber: p.sub, Directory: p.scenes, Roster: p.roster,
		Metrics: p.metrics, Logger: p.log.With("part", "scene"),
	}
	if p.flags != nil {
		deps.Features = p.flags
		deps.FlushInterval = func() time.Duration { return p.flags.Duration(feature.SceneFlushInterval) }
	}
	if p.lua != nil {
		deps.Rules = scenehost.LuaRules{Call: luaFunc(p.lua)}
	}
	h, err := scenehost.New(scenehost.Config{ID: id, Addr: addr, AdvertiseAddr: p.advertise, TickRate: p.tickRate, Static: p.static}, deps)
	if err != nil {
		return nil, fmt.Errorf("system: %w", err)
	}
	return h, nil
}

// luaFunc adapts the Lua component to scenehost.LuaFunc: one call, one
// crossing to a locked worker.
func luaFunc(l *Lua) scenehost.LuaFunc {
	return func(ctx context.Context, module, fn string, args []any) ([]any, error) {
		res, gen, err := l.CallBatch(ctx, module, []luavm.Call{{Fn: fn, Args: args}})
		if err != nil {
			return nil, err
		}
		if res[0].Err != nil {
			return nil, fmt.Errorf("generation %d: %w", gen.Number, res[0].Err)
		}
		return res[0].Values, nil
	}
}

// sceneMember is what a scene host announces: its link address and load.
func sceneMember(h *scenehost.Host, flags *feature.Flags, lua *Lua) rosterMember {
	return rosterMember{
		member: directory.Member{ID: h.ID(), Kind: directory.KindScene, Addr: h.Addr()},
		flags:  flags, lua: lua, online: h.Online,
		extra: func() map[string]string { return map[string]string{directory.InfoLoad: strconv.Itoa(h.Load())} },
	}
}

// DaprSceneConfig configures `gamemesh scene`: a scene host joining a Dapr cluster.
type DaprSceneConfig struct {
	// ID names the host (roster, scene directory, player leases); default scene-<hostname>.
	ID string
	// LinkAddr is where gates link to (gRPC, direct, not through the sidecar).
	LinkAddr string
	// AdvertiseAddr is the link address announced to gates (default: the bound one).
	AdvertiseAddr string
	// AppAddr is the app channel for the sidecar (grant notices).
	AppAddr string
	// HTTPAddr serves /healthz and /metrics ("" disables).
	HTTPAddr string
	// Routes maps function apps to the Dapr app ids serving them.
	Routes map[string]string
	// Static names the static scenes to claim (nil: all; empty: none).
	Static []string
	// TickRate in Hz (default 20).
	TickRate int
	// ScriptsDir holds the Lua modules served until the cluster publishes its own.
	ScriptsDir   string
	ReadyTimeout time.Duration
	// RedisAddr and RedisPassword reach the Redis of the roster and the scene directory.
	RedisAddr, RedisPassword string
}

// DaprScene is a running `gamemesh scene`.
type DaprScene struct {
	client   *dapr.Client
	app      *dapr.App
	host     *scenehost.Host
	config   *dapr.ConfigSource
	flags    *feature.Flags
	lua      *Lua
	redis    *redis.Client
	roster   *redisdir.Roster
	announce *directory.Announcer
	stopRep  func()
	metrics  *processMetrics
	httpAddr string
	httpSrv  *http.Server
	httpLn   net.Listener
	httpDone chan struct{}
	log      *slog.Logger
}

// NewDaprScene connects to the sidecar and Redis and builds the host.
func NewDaprScene(ctx context.Context, cfg DaprSceneConfig, log *slog.Logger) (s *DaprScene, err error) {
	cfg.ID = memberID(directory.KindScene, cfg.ID)
	rc, err := dialRedis(ctx, cfg.RedisAddr, cfg.RedisPassword)
	if err != nil {
		return nil, err
	}
	c, err := dialSidecar(ctx, cfg.ReadyTimeout, log)
	if err != nil {
		_ = rc.Close()
		return nil, err
	}
	s = &DaprScene{client: c, redis: rc, roster: redisRoster(rc), metrics: newProcessMetrics(), httpAddr: cfg.HTTPAddr, log: log}
	defer func() {
		if err != nil {
			if s.app != nil {
				_ = s.app.Stop(context.Background())
			}
			_ = c.Close()
			_ = rc.Close()
		}
	}()
	s.config = dapr.NewConfigSource(c, ConfigStore, dapr.ConfigOptions{Logger: log.With("part", "config")})
	if s.flags, err = newFlags(s.config, gate.Config{}, log, s.metrics.reg); err != nil {
		return nil, err
	}
	if s.lua, err = NewLua(LuaConfig{ScriptsDir: cfg.ScriptsDir}, LuaDeps{Store: dapr.NewStore(c, SharedStateStore),
		Config: s.config, Logger: log.With("part", "lua")}); err != nil {
		return nil, fmt.Errorf("system: %w", err)
	}
	s.app, err = dapr.NewApp(dapr.AppOptions{Address: cfg.AppAddr, PubSub: PubSub,
		AppToken: os.Getenv(dapr.EnvAppAPIToken), Logger: log.With("part", "app")})
	if err != nil {
		return nil, fmt.Errorf("system: %w", err)
	}
	s.host, err = newSceneHost(cfg.ID, cfg.LinkAddr, sceneParts{
		invoker: dapr.NewInvoker(c, dapr.InvokerOptions{AppIDs: cfg.Routes}), pub: dapr.NewPublisher(c, PubSub), sub: s.app,
		scenes: redisdir.NewScenes(rc, ""), roster: s.roster, flags: s.flags, lua: s.lua, metrics: s.metrics.reg, log: log,
		tickRate: cfg.TickRate, static: cfg.Static, advertise: cfg.AdvertiseAddr,
	})
	return s, err
}

// Host returns the scene host (for its address).
func (s *DaprScene) Host() *scenehost.Host { return s.host }

// HTTPAddr is the bound health and metrics address ("" when disabled).
func (s *DaprScene) HTTPAddr() string {
	if s.httpLn == nil {
		return ""
	}
	return s.httpLn.Addr().String()
}

// Start starts the switches and Lua, the host (subscribing its grant
// notices on the app channel before it serves), the app channel, the health
// endpoint and the roster announcements.
func (s *DaprScene) Start(ctx context.Context) error {
	if err := s.flags.Start(ctx); err != nil {
		return fmt.Errorf("system: %w", err)
	}
	if err := s.lua.Start(ctx); err != nil {
		return err
	}
	if err := s.host.Start(ctx); err != nil {
		return err
	}
	if err := s.app.Start(); err != nil {
		return err
	}
	if s.httpAddr != "" {
		ln, err := net.Listen("tcp", s.httpAddr)
		if err != nil {
			return fmt.Errorf("system: health listener: %w", err)
		}
		s.httpLn = ln
		mux := http.NewServeMux()
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
		mux.Handle("GET /metrics", s.metrics.handler)
		s.httpSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		s.httpDone = make(chan struct{})
		go func() {
			defer close(s.httpDone)
			_ = s.httpSrv.Serve(ln)
		}()
	}
	s.announce, s.stopRep = newAnnouncer(s.roster, sceneMember(s.host, s.flags, s.lua), s.log)
	if err := s.announce.Start(ctx); err != nil {
		return fmt.Errorf("system: %w", err)
	}
	return nil
}

// Stop leaves the roster, stops the host (saving every held player), then
// the app channel, Lua, the switches and the connections.
func (s *DaprScene) Stop(ctx context.Context) error {
	var errs []error
	if s.stopRep != nil {
		s.stopRep()
	}
	if s.announce != nil {
		errs = append(errs, s.announce.Stop(ctx))
	}
	errs = append(errs, s.host.Stop(ctx))
	if s.httpSrv != nil {
		errs = append(errs, s.httpSrv.Shutdown(ctx))
		<-s.httpDone
	}
	errs = append(errs, s.app.Stop(ctx), s.lua.Stop(ctx), s.flags.Stop(ctx))
	s.config.Close()
	return errors.Join(append(errs, s.client.Close(), s.redis.Close())...)
}
