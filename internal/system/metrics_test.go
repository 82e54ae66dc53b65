package system

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh/client"
	"github.com/gamemesh/gamemesh/gate"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// A running node serves one registry at GET /metrics on the gate's HTTP
// listener: feature, gate, Go runtime and process metrics.
func TestMetricsServedOnGate(t *testing.T) {
	e := startEmbedded(t, gate.Config{})
	c, err := dialPlayer(t, e, "metrics-device", client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Call(ctx, "player.get", &gamev1.GetPlayerRequest{}, new(gamev1.GetPlayerResponse)); err != nil {
		t.Fatal(err)
	}

	hc := &http.Client{Timeout: 5 * time.Second}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get("http://" + e.Gate().HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, b)
	}
	body := string(b)
	for _, want := range []string{
		"gamemesh_feature_config_staleness_seconds ",
		"gamemesh_gate_sessions_online 1",
		`gamemesh_gate_logins_total{code="OK"} 1`,
		`gamemesh_gate_call_duration_seconds_count{code="OK",route="player.get"} 1`,
		"go_goroutines ",
		"process_open_fds ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("GET /metrics lacks %q", want)
		}
	}
}
