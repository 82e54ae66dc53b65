package main

import (
	"context"
	"flag"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gamemesh/gamemesh/internal/system"
)

// runScene runs a scene host that joins a Dapr cluster: a Dapr app for
// invocation (player records, grants), pub/sub (game events, grant notices)
// and the configuration store; gates link to it directly over gRPC.
func runScene(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("scene", flag.ContinueOnError)
	fs.SetOutput(stderr)
	id := fs.String("id", "", "scene host id in the roster, scene directory and player leases (default scene-<hostname>)")
	link := fs.String("link", "127.0.0.1:7300", "gate link listen address (gRPC, direct)")
	advertise := fs.String("advertise", "", "link address announced to gates (default: the bound -link address)")
	appAddr := fs.String("app-addr", "127.0.0.1:50053", "app channel listen address (the sidecar's --app-port)")
	httpAddr := fs.String("http", "127.0.0.1:7301", "health and metrics listen address (\"\" disables)")
	routes := fs.String("routes", "", "app=daprAppID,... (default: every function app on app id \"functions\")")
	static := fs.String("static", "city", "static scenes to claim, comma-separated (\"\": dungeon instances only)")
	tick := fs.Int("tick", 20, "scene tick rate in Hz")
	scripts := fs.String("scripts", "scripts", "Lua scripts folder, served until the cluster publishes its own bundles")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	if err := parse(fs, args); err != nil {
		return err
	}
	log, err := newLogger(stderr, *level)
	if err != nil {
		return err
	}
	r, err := system.ParseRoutes(*routes, "functions")
	if err != nil {
		return err
	}
	staticScenes := []string{}
	for _, s := range strings.Split(*static, ",") {
		if s = strings.TrimSpace(s); s != "" {
			staticScenes = append(staticScenes, s)
		}
	}
	s, err := system.NewDaprScene(ctx, system.DaprSceneConfig{
		ID: *id, LinkAddr: *link, AdvertiseAddr: *advertise, AppAddr: *appAddr, HTTPAddr: *httpAddr, Routes: r,
		Static: staticScenes, TickRate: *tick, ScriptsDir: *scripts,
		RedisAddr: os.Getenv(system.EnvRedisHost), RedisPassword: os.Getenv(system.EnvRedisPassword),
	}, log)
	if err != nil {
		return err
	}
	if err := s.Start(ctx); err != nil {
		_ = s.Stop(context.Background())
		return err
	}
	log.Info("gamemesh scene: ready", "id", s.Host().ID(), "link", s.Host().Addr(), "http", s.HTTPAddr(), "static", staticScenes)
	<-ctx.Done()
	return stopWithin(s.Stop, 15*time.Second)
}
