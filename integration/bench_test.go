//go:build integration

package integration

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/dapr"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// BenchmarkGateToMail measures one mail.list call made the way the gate makes
// it (gate sidecar → functions sidecar → app) against the same handler of the
// same app called over a direct gRPC connection to its app channel. Both
// paths read the mailbox through the functions' sidecar. Each iteration makes
// one call of each kind, so the ratio comes from one run on one machine:
//
//	go test -tags integration -run '^$' -bench GateToMail -benchtime 3000x ./integration/
func BenchmarkGateToMail(b *testing.B) {
	sys := startSystem(b)
	direct, err := dapr.NewDirectInvoker(sys.fnAppAddr, "")
	if err != nil {
		b.Fatal(err)
	}
	defer direct.Close()
	body, err := proto.Marshal(&gamev1.ListMailRequest{})
	if err != nil {
		b.Fatal(err)
	}
	req := gamemesh.Request{App: "mail", Method: "list", Player: gamemesh.NewPlayerID(), ID: "bench", Body: body}
	call := func(inv gamemesh.Invoker) time.Duration {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		began := time.Now()
		if _, err := inv.Invoke(ctx, req); err != nil {
			b.Fatalf("mail.list: %v", err)
		}
		return time.Since(began)
	}
	for range 100 { // warm up connections and caches
		call(sys.gateInvoker)
		call(direct)
	}
	var viaDapr, viaDirect []time.Duration
	for b.Loop() {
		viaDapr = append(viaDapr, call(sys.gateInvoker))
		viaDirect = append(viaDirect, call(direct))
	}
	p50d, p99d := percentiles(viaDapr)
	p50g, p99g := percentiles(viaDirect)
	b.ReportMetric(float64(p50d.Microseconds()), "p50-dapr-µs")
	b.ReportMetric(float64(p99d.Microseconds()), "p99-dapr-µs")
	b.ReportMetric(float64(p50g.Microseconds()), "p50-direct-µs")
	b.ReportMetric(float64(p99g.Microseconds()), "p99-direct-µs")
	b.ReportMetric(float64(p50d)/float64(p50g), "p50-ratio")
	b.ReportMetric(float64(p99d)/float64(p99g), "p99-ratio")
}

func percentiles(ds []time.Duration) (p50, p99 time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)*50/100], s[min(len(s)-1, len(s)*99/100)]
}
