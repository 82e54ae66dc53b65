//go:build integration

package integration

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh/bots"
	"github.com/gamemesh/gamemesh/dapr"
	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/gate"
	gmsystem "github.com/gamemesh/gamemesh/internal/system"
)

// TestDaprModeSceneHosts runs `gamemesh fn`, two `gamemesh scene` (one with
// the city, one for dungeon instances only) and `gamemesh gate`, each behind
// its own daprd, and drives them with bots that move, fight, loot and enter
// dungeons across the two hosts: every call succeeds.
func TestDaprModeSceneHosts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
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
	scripts := filepath.Join(repoRoot(t), "scripts")

	fnPort := freePort(t)
	fnSidecar := StartSidecar(t, redis, SidecarOptions{AppID: "functions", AppPort: fnPort, BeforeApp: true, Env: []string{secretEnv}})
	t.Setenv(dapr.EnvGRPCPort, strconv.Itoa(fnSidecar.GRPCPort))
	fn, err := gmsystem.NewDaprFunctions(ctx, gmsystem.DaprFunctionsConfig{AppAddr: "127.0.0.1:" + strconv.Itoa(fnPort), Routes: routes,
		RedisAddr: redis.Addr(), ScriptsDir: scripts}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := fn.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopWithin(t, fn.Stop) })
	fnSidecar.WaitHealthy()

	// Both scene sidecars first: their ports are picked free and bound before
	// the hosts open their own connections (ephemeral ports).
	var sidecars []*Sidecar
	var ports []int
	for range 2 {
		port := freePort(t)
		ports = append(ports, port)
		sidecars = append(sidecars, StartSidecar(t, redis, SidecarOptions{AppID: "scene", AppPort: port, BeforeApp: true}))
	}
	var hosts []*gmsystem.DaprScene
	for i, static := range [][]string{{"city"}, {}} {
		port, sc := ports[i], sidecars[i]
		t.Setenv(dapr.EnvGRPCPort, strconv.Itoa(sc.GRPCPort))
		s, err := gmsystem.NewDaprScene(ctx, gmsystem.DaprSceneConfig{ID: "scene-" + strconv.Itoa(i+1), LinkAddr: "127.0.0.1:0",
			AppAddr: "127.0.0.1:" + strconv.Itoa(port), Routes: routes, Static: static, ScriptsDir: scripts, RedisAddr: redis.Addr()}, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { stopWithin(t, s.Stop) })
		sc.WaitHealthy()
		hosts = append(hosts, s)
	}

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

	members, err := gt.Roster().Members(ctx, directory.KindScene)
	if err != nil || len(members) != 2 || members[0].Addr == "" {
		t.Fatalf("scene hosts in the roster: %+v, %v", members, err)
	}
	// Twelve players: the wiring is under test here, not the capacity of two
	// cores running seven processes and six sidecars.
	rep, err := bots.Run(ctx, bots.Config{Players: 12, Duration: 12 * time.Second, MailEvery: time.Second,
		Addr: "tcp://" + gt.Gate().Addr(), HTTP: "http://" + gt.Gate().HTTPAddr(),
		Scene: bots.SceneMix{DungeonEvery: 3 * time.Second}}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	line := string(rep.JSON())
	t.Logf("bots against two scene hosts in Dapr mode: %s", line)
	if rep.LoginsOK != 12 || rep.Errors != 0 {
		t.Fatalf("want 12 logins and no errors: %s", line)
	}
	for _, route := range []string{bots.RouteSceneMove, bots.RouteSceneCast, bots.RouteSceneEnter} {
		if rep.Calls[route].OK == 0 {
			t.Errorf("route %s never succeeded: %s", route, line)
		}
	}
	if rep.Scene == nil || rep.Scene.Dungeons == 0 || rep.Scene.Enters < 2*int64(rep.Players) {
		t.Errorf("players did not reach the city and dungeons: %s", line)
	}
	inst := 0
	for _, h := range hosts[1:] {
		for _, s := range h.Host().Scenes() {
			if strings.HasPrefix(s, "crypt-") {
				inst++
			}
		}
	}
	t.Logf("dungeon instances still open on scene-2 at the end: %d", inst)
}
