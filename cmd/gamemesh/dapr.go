package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gamemesh/gamemesh/gate"
	"github.com/gamemesh/gamemesh/internal/system"
)

// runFn serves function apps as one Dapr app behind its sidecar.
func runFn(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("fn", flag.ContinueOnError)
	fs.SetOutput(stderr)
	only := fs.String("only", strings.Join(system.FunctionApps(), ","), "function apps to serve, comma-separated (also: "+strings.Join(system.OptionalApps(), ",")+", served only when named)")
	appAddr := fs.String("app-addr", "127.0.0.1:50051", "app channel listen address (the sidecar's --app-port)")
	routes := fs.String("routes", "", "app=daprAppID,... for calls to functions served elsewhere (default: all on app id \"functions\")")
	scripts := fs.String("scripts", "scripts", "Lua scripts folder, served until the cluster publishes its own bundles")
	id := fs.String("id", "", "process id in the cluster roster (default functions-<hostname>, idip-<hostname> for --only idip)")
	idipAddr := fs.String("idip-addr", system.DefaultIDIPAddr, "listen address of the IDIP API when --only names idip (admin token: secret "+system.IDIPTokenSecretName+")")
	idipTokenFile := fs.String("idip-token-file", "", "with --only idip: keep a generated admin token in this file when the secret store has no "+system.IDIPTokenSecretName+" (printed once, when generated; default: the secret is required)")
	adminAddr := fs.String("admin", "", "admin listen address serving GET /healthz, /readyz, /metrics, e.g. 127.0.0.1:7180 (default: none; compose sets it for its healthchecks)")
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
	var apps []string
	for _, a := range strings.Split(*only, ",") {
		if a = strings.TrimSpace(a); a != "" {
			apps = append(apps, a)
		}
	}
	f, err := system.NewDaprFunctions(ctx, system.DaprFunctionsConfig{Only: apps, AppAddr: *appAddr, Routes: r, ScriptsDir: *scripts,
		ID: *id, RedisAddr: os.Getenv(system.EnvRedisHost), RedisPassword: os.Getenv(system.EnvRedisPassword), IDIPAddr: *idipAddr, IDIPTokenFile: *idipTokenFile,
		AdminAddr: *adminAddr}, log)
	if err != nil {
		return err
	}
	if err := f.Start(ctx); err != nil {
		_ = f.Stop(context.Background())
		return err
	}
	log.Info("gamemesh fn: serving", "apps", apps, "app_channel", f.Addr(), "admin", f.AdminAddr())
	if api := f.IDIP(); api != nil {
		log.Info("gamemesh fn: IDIP API", "url", api.URL())
	}
	<-ctx.Done()
	return stopWithin(f.Stop, 10*time.Second)
}

// runGate runs a gate whose function calls go through its Dapr sidecar.
func runGate(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("gate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	id := fs.String("id", "gate-1", "gate id (its push topic is push.<id>)")
	tcpAddr := fs.String("tcp", "127.0.0.1:7100", "TCP listen address for game clients (\"\" disables)")
	httpAddr := fs.String("http", "127.0.0.1:7101", "HTTP listen address: WebSocket at /ws, guest login, health (\"\" disables)")
	appAddr := fs.String("app-addr", "127.0.0.1:50052", "app channel listen address (the sidecar's --app-port)")
	routes := fs.String("routes", "", "app=daprAppID,... (default: every function app on app id \"functions\")")
	maxOnline := fs.Int("max-online", gate.DefaultMaxOnline, "players admitted at once; more wait in the login queue")
	queueCap := fs.Int("queue-cap", gate.DefaultQueueCap, "logins that may wait in the queue; more get SERVER_FULL")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	scale := addGateScaleFlags(fs)
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
	gcfg := gate.Config{ID: *id, TCPAddr: *tcpAddr, WSAddr: *httpAddr, MaxOnline: *maxOnline, QueueCap: *queueCap}
	if err := scale.apply(&gcfg); err != nil {
		return err
	}
	g, err := system.NewDaprGate(ctx, system.DaprGateConfig{
		Gate:    gcfg,
		AppAddr: *appAddr, Routes: r,
		RedisAddr: os.Getenv(system.EnvRedisHost), RedisPassword: os.Getenv(system.EnvRedisPassword),
	}, log)
	if err != nil {
		return err
	}
	if err := g.Start(ctx); err != nil {
		_ = g.Stop(context.Background())
		return err
	}
	gt := g.Gate()
	log.Info("gamemesh gate: ready", "tcp", "tcp://"+gt.Addr(), "ws", gt.WSURL(), "login", "http://"+gt.HTTPAddr()+"/v1/login/guest")
	<-ctx.Done()
	return stopWithin(g.Stop, 10*time.Second)
}

func stopWithin(stop func(context.Context) error, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := stop(ctx); err != nil {
		return fmt.Errorf("stopping: %w", err)
	}
	return nil
}
