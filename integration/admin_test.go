//go:build integration

package integration

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh/dapr"
	gmsystem "github.com/gamemesh/gamemesh/internal/system"
)

// TestFunctionsAdminListener: `gamemesh fn`'s admin listener is live at
// once, ready once the process serves, serves its metrics, and stops being
// ready when its sidecar dies (the compose health check relies on it), and
// ready again when the sidecar is back.
func TestFunctionsAdminListener(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	redis := StartRedis(t)
	routes, err := gmsystem.ParseRoutes("", "functions")
	if err != nil {
		t.Fatal(err)
	}
	fnPort := freePort(t)
	sc := StartSidecar(t, redis, SidecarOptions{AppID: "functions", AppPort: fnPort, BeforeApp: true})
	t.Setenv(dapr.EnvGRPCPort, strconv.Itoa(sc.GRPCPort))
	admin := "127.0.0.1:" + strconv.Itoa(freePort(t))
	fn, err := gmsystem.NewDaprFunctions(ctx, gmsystem.DaprFunctionsConfig{Only: []string{"guild"},
		AppAddr: "127.0.0.1:" + strconv.Itoa(fnPort), Routes: routes, RedisAddr: redis.Addr(),
		ScriptsDir: filepath.Join(repoRoot(t), "scripts"), AdminAddr: admin}, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := fn.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopWithin(t, fn.Stop) })
	if fn.AdminAddr() != admin {
		t.Fatalf("admin listener on %q, want %q", fn.AdminAddr(), admin)
	}
	sc.WaitHealthy()

	hc := &http.Client{Timeout: 5 * time.Second}
	defer hc.CloseIdleConnections()
	get := func(path string) (int, string) {
		resp, err := hc.Get("http://" + admin + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz with the sidecar up: %d %q", code, body)
	}
	if code, body := get("/metrics"); code != http.StatusOK || !strings.Contains(body, "gamemesh_feature_config_staleness_seconds") {
		t.Fatalf("/metrics: %d, want the feature metrics of the process:\n%s", code, body)
	}

	sc.Kill()
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "sidecar") {
		t.Fatalf("/readyz with the sidecar killed: %d %q, want 503 naming the sidecar", code, body)
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz with the sidecar killed: %d, want 200 (the process itself is alive)", code)
	}
	sc.Restart()
	if !waitUntil(30*time.Second, func() bool { code, _ := get("/readyz"); return code == http.StatusOK }) {
		code, body := get("/readyz")
		t.Fatalf("/readyz 30 s after the sidecar came back: %d %q", code, body)
	}
}
