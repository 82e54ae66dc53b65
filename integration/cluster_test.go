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

	"github.com/gamemesh/gamemesh/client"
	"github.com/gamemesh/gamemesh/dapr"
	"github.com/gamemesh/gamemesh/gate"
	gmsystem "github.com/gamemesh/gamemesh/internal/system"
)

// cluster is the Dapr-mode composition of `gamemesh fn` (every function app)
// and several `gamemesh gate` processes, each behind its own daprd, run in
// the test process.
type cluster struct {
	redis        *Redis
	fn           *gmsystem.DaprFunctions
	fnSidecar    *Sidecar
	gates        []*gmsystem.DaprGate
	gateSidecars []*Sidecar
}

// clusterOptions shape startCluster.
type clusterOptions struct {
	// Gates is the number of gates (ids gate-1, gate-2, ...).
	Gates int
	// SidecarRedis is where the sidecars reach Redis (a proxy), default r.
	SidecarRedis string
}

// startCluster starts the function process and the gates against r and
// waits until every sidecar is healthy; everything stops with the test.
func startCluster(t *testing.T, r *Redis, opts clusterOptions) *cluster {
	t.Helper()
	ctx := context.Background()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	secretEnv := "GAMEMESH_SECRET_TICKET_KEY=" + hex.EncodeToString(key)
	routes, err := gmsystem.ParseRoutes("", "functions")
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{redis: r}

	fnPort := freePort(t)
	c.fnSidecar = StartSidecar(t, r, SidecarOptions{AppID: "functions", AppPort: fnPort, BeforeApp: true,
		Env: []string{secretEnv}, RedisAddr: opts.SidecarRedis})
	t.Setenv(dapr.EnvGRPCPort, strconv.Itoa(c.fnSidecar.GRPCPort))
	c.fn, err = gmsystem.NewDaprFunctions(ctx, gmsystem.DaprFunctionsConfig{AppAddr: "127.0.0.1:" + strconv.Itoa(fnPort),
		Routes: routes, RedisAddr: r.Addr(), ID: "functions-1", ScriptsDir: filepath.Join(repoRoot(t), "scripts")}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.fn.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopWithin(t, c.fn.Stop) })
	c.fnSidecar.WaitHealthy()

	for i := 1; i <= max(opts.Gates, 1); i++ {
		port := freePort(t)
		sc := StartSidecar(t, r, SidecarOptions{AppID: "gate", Config: "gate.yaml", AppPort: port, BeforeApp: true,
			Env: []string{secretEnv}, RedisAddr: opts.SidecarRedis})
		t.Setenv(dapr.EnvGRPCPort, strconv.Itoa(sc.GRPCPort))
		g, err := gmsystem.NewDaprGate(ctx, gmsystem.DaprGateConfig{
			Gate:    gate.Config{ID: fmt.Sprintf("gate-%d", i), TCPAddr: "127.0.0.1:0", WSAddr: "127.0.0.1:0"},
			AppAddr: "127.0.0.1:" + strconv.Itoa(port), Routes: routes, RedisAddr: r.Addr(),
		}, testLogger(t))
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { stopWithin(t, g.Stop) })
		sc.WaitHealthy()
		c.gates = append(c.gates, g)
		c.gateSidecars = append(c.gateSidecars, sc)
	}
	return c
}

// player logs a new guest in through gate i and returns its connection.
func (c *cluster) player(t *testing.T, i int, device string) *client.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	g := c.gates[i].Gate()
	tk, err := client.GuestLogin(ctx, "http://"+g.HTTPAddr(), device)
	if err != nil {
		t.Fatalf("guest login at gate %d: %v", i+1, err)
	}
	conn, err := client.Dial(ctx, "tcp://"+g.Addr(), tk.Ticket, client.Options{})
	if err != nil {
		t.Fatalf("login at gate %d: %v", i+1, err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}
