package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/gate"
	"github.com/gamemesh/gamemesh/internal/system"
)

// runUp runs the whole backend in one process until SIGINT/SIGTERM.
func runUp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data", "gamemesh-data", "data directory (bbolt file, ticket secret)")
	tcpAddr := fs.String("tcp", "127.0.0.1:7100", "TCP listen address for game clients (\"\" disables)")
	httpAddr := fs.String("http", "127.0.0.1:7101", "HTTP listen address: WebSocket at /ws, guest login, health (\"\" disables)")
	maxOnline := fs.Int("max-online", gate.DefaultMaxOnline, "players admitted at once; more wait in the login queue")
	queueCap := fs.Int("queue-cap", gate.DefaultQueueCap, "logins that may wait in the queue; more get SERVER_FULL")
	deadline := fs.Duration("call-deadline", gamemesh.DefaultDeadline, "deadline of each function call the gate makes for a client")
	scripts := fs.String("scripts", "scripts", "Lua scripts folder (modules published at first start)")
	watch := fs.Bool("watch-scripts", false, "development: publish edited Lua modules as new generations when their files change")
	idipAddr := fs.String("idip", system.DefaultIDIPAddr, "listen address of the operators' IDIP API (\"\" disables); its token is generated into the data dir")
	level := fs.String("log-level", "info", "log level: debug, info, warn, error")
	scale := addGateScaleFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	log, err := newLogger(stderr, *level)
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(*dataDir)
	if err != nil {
		return err
	}
	gcfg := gate.Config{TCPAddr: *tcpAddr, WSAddr: *httpAddr, MaxOnline: *maxOnline, QueueCap: *queueCap, CallDeadline: *deadline}
	if err := scale.apply(&gcfg); err != nil {
		return err
	}
	node, err := system.NewEmbedded(system.EmbeddedConfig{
		DataDir:  abs,
		Gate:     gcfg,
		Lua:      system.LuaConfig{ScriptsDir: *scripts, Watch: *watch},
		IDIPAddr: *idipAddr,
	}, log)
	if err != nil {
		return err
	}
	log.Info("gamemesh up: embedded mode", "data", abs, "db", system.DBPath(abs), "ticket_secret", node.SecretSource)
	if err := node.Start(ctx); err != nil {
		_ = node.Stop(context.Background())
		return err
	}
	g := node.Gate()
	log.Info("gamemesh up: ready",
		"tcp", "tcp://"+g.Addr(), "ws", g.WSURL(), "login", "http://"+g.HTTPAddr()+"/v1/login/guest",
		"try", fmt.Sprintf("go run ./cmd/gamemesh bots -n 200 -d 30s --addr tcp://%s --http http://%s", g.Addr(), g.HTTPAddr()))
	if api := node.IDIP(); api != nil {
		log.Info("gamemesh up: IDIP API", "url", api.URL(), "token_file", node.IDIPTokenSource,
			"try", fmt.Sprintf("GAMEMESH_IDIP_TOKEN=$(cat %s) go run ./cmd/gamemesh ctl --idip %s idip online", system.IDIPTokenPath(abs), api.URL()))
	}
	<-ctx.Done()
	log.Info("gamemesh up: stopping")
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := node.Stop(stopCtx); err != nil {
		return fmt.Errorf("stopping: %w", err)
	}
	log.Info("gamemesh up: stopped")
	return nil
}
