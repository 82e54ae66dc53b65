//go:build integration

package integration

import (
	"context"
	"strings"
	"testing"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Toxiproxy is a TCP proxy between the processes of a test and one upstream
// (Redis), run in the test process with Shopify's toxiproxy library, to cut
// the network between them and heal it again.
type Toxiproxy struct {
	t     testing.TB
	proxy *toxiproxy.Proxy
}

// StartToxiproxy proxies a free loopback port to upstream until the test ends.
func StartToxiproxy(t testing.TB, upstream string) *Toxiproxy {
	t.Helper()
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	p := toxiproxy.NewProxy(server, "redis", "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		t.Fatalf("toxiproxy: %v", err)
	}
	t.Cleanup(p.Stop)
	return &Toxiproxy{t: t, proxy: p}
}

// Addr is where clients connect instead of the upstream.
func (x *Toxiproxy) Addr() string { return x.proxy.Listen }

// Cut makes the link black-hole traffic both ways: open connections stay
// open but carry nothing, new ones are accepted and carry nothing — a
// network partition, not a refused connection.
func (x *Toxiproxy) Cut() {
	x.t.Helper()
	for _, dir := range []string{"upstream", "downstream"} {
		body := `{"name":"cut-` + dir + `","type":"timeout","stream":"` + dir + `","toxicity":1,"attributes":{"timeout":0}}`
		if _, err := x.proxy.Toxics.AddToxicJson(strings.NewReader(body)); err != nil {
			x.t.Fatalf("toxiproxy: cutting %s: %v", dir, err)
		}
	}
}

// Heal removes the cut.
func (x *Toxiproxy) Heal() {
	x.t.Helper()
	for _, dir := range []string{"upstream", "downstream"} {
		if err := x.proxy.Toxics.RemoveToxic(context.Background(), "cut-"+dir); err != nil {
			x.t.Fatalf("toxiproxy: healing %s: %v", dir, err)
		}
	}
}
