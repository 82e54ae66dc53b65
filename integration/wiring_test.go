//go:build integration

package integration

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh/bots"
	"github.com/gamemesh/gamemesh/dapr"
	"github.com/gamemesh/gamemesh/gate"
	gmsystem "github.com/gamemesh/gamemesh/internal/system"
)

// TestDaprModeWiringWithBots runs what `gamemesh fn` and `gamemesh gate` run —
// the internal/system composition, each behind its own daprd — and drives it
// with bots (login, mail, claims, guilds): every call must succeed.
func TestDaprModeWiringWithBots(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	secretEnv := "GAMEMESH_SECRET_TICKET_KEY=" + hex.EncodeToString(key)
	redis := StartRedis(t)
	routes, err := gmsystem.ParseRoutes("", "functions")
	if err != nil {
		t.Fatal(err)
	}

	fnPort := freePort(t)
	fnSidecar := StartSidecar(t, redis, SidecarOptions{AppID: "functions", AppPort: fnPort, BeforeApp: true, Env: []string{secretEnv}})
	t.Setenv(dapr.EnvGRPCPort, strconv.Itoa(fnSidecar.GRPCPort))
	fn, err := gmsystem.NewDaprFunctions(ctx, gmsystem.DaprFunctionsConfig{AppAddr: "127.0.0.1:" + strconv.Itoa(fnPort), Routes: routes,
		RedisAddr:  redis.Addr(),
		ScriptsDir: filepath.Join(repoRoot(t), "scripts")}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := fn.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopWithin(t, fn.Stop) })
	fnSidecar.WaitHealthy()

	gtPort := freePort(t)
	gtSidecar := StartSidecar(t, redis, SidecarOptions{AppID: "gate", Config: "gate.yaml", AppPort: gtPort, BeforeApp: true, Env: []string{secretEnv}})
	t.Setenv(dapr.EnvGRPCPort, strconv.Itoa(gtSidecar.GRPCPort))
	gt, err := gmsystem.NewDaprGate(ctx, gmsystem.DaprGateConfig{
		Gate:    gate.Config{TCPAddr: "127.0.0.1:0", WSAddr: "127.0.0.1:0"},
		AppAddr: "127.0.0.1:" + strconv.Itoa(gtPort), Routes: routes, RedisAddr: redis.Addr(),
	}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := gt.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopWithin(t, gt.Stop) })
	gtSidecar.WaitHealthy()

	rep, err := bots.Run(ctx, bots.Config{Players: 20, Duration: 8 * time.Second, MailEvery: 500 * time.Millisecond,
		Addr: "tcp://" + gt.Gate().Addr(), HTTP: "http://" + gt.Gate().HTTPAddr()}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	line := string(rep.JSON())
	t.Logf("bots through two sidecars: %s", line)
	members, err := gt.Roster().Members(ctx, "")
	if err != nil || len(members) != 2 || members[0].Kind != "functions" || members[1].ID != "gate-1" || members[1].Info["online"] == "" {
		t.Errorf("roster = %+v, %v; want the functions process and gate-1 announced", members, err)
	}
	if rep.LoginsOK != 20 || rep.Errors != 0 {
		t.Fatalf("want 20 logins and no errors: %s", line)
	}
	for _, route := range []string{bots.RouteMailSend, bots.RouteMailList, bots.RouteMailClaim, bots.RoutePlayerGet, bots.RouteGuildCreate, bots.RouteGuildApply, bots.RouteAchievementList} {
		if rep.Calls[route].OK == 0 {
			t.Errorf("route %s never succeeded: %s", route, line)
		}
	}
	if rep.Pushes == 0 {
		t.Errorf("no mail.new push crossed from the functions process to the gate: %s", line)
	}
}

func stopWithin(t *testing.T, stop func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := stop(ctx); err != nil {
		t.Error(fmt.Errorf("stop: %w", err))
	}
}
