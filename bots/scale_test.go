package bots_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/bots"
	"github.com/gamemesh/gamemesh/client/clienttest"
)

func TestScaleHoldAcrossTwoGatesAndSourceAddresses(t *testing.T) {
	var gates, https []string
	for range 2 {
		s, err := clienttest.Start(clienttest.Config{HeartbeatInterval: 200 * time.Millisecond, QueueFrames: 2})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		gates, https = append(gates, s.TCPAddr()), append(https, s.HTTPBase())
	}
	ips, err := bots.ParseIPRange("127.0.0.2-127.0.0.4")
	if err != nil || len(ips) != 3 {
		t.Fatalf("range: %v %v", ips, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Two shards of 20 bots, merged as the --procs driver merges them.
	var parts []bots.ScaleReport
	for i := range 2 {
		rep, err := bots.RunScale(ctx, bots.ScaleConfig{Scenario: bots.ScenarioHold, Players: 20, Gates: gates, HTTP: https,
			SourceIPs: ips, Duration: 500 * time.Millisecond, Prefix: "hold", Shard: &bots.Shard{Index: i, Of: 2}, Samples: true}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if rep.LoginsOK != 10 || rep.Held != 10 || rep.Errors != 0 {
			t.Fatalf("shard %d: %+v", i, rep)
		}
		parts = append(parts, rep)
	}
	m := bots.MergeScale(parts)
	if m.LoginsOK != 20 || m.Held != 20 || m.Tickets != 20 || m.LoginMs.N != 20 || m.Queued != 20 || m.MaxPosition != 2 {
		t.Fatalf("merged %+v", m)
	}
}

func TestScaleConfigRefused(t *testing.T) {
	ctx := context.Background()
	for name, cfg := range map[string]bots.ScaleConfig{
		"scenario": {Scenario: "dance", Players: 1, Gates: []string{"tcp://x"}, HTTP: []string{"http://x"}, Duration: time.Second},
		"players":  {Scenario: bots.ScenarioHold, Gates: []string{"tcp://x"}, HTTP: []string{"http://x"}, Duration: time.Second},
		"gates":    {Scenario: bots.ScenarioHold, Players: 1, Gates: []string{"tcp://x"}, Duration: time.Second},
		"shard":    {Scenario: bots.ScenarioHold, Players: 1, Gates: []string{"tcp://x"}, HTTP: []string{"http://x"}, Duration: time.Second, Shard: &bots.Shard{Index: 2, Of: 2}},
	} {
		if _, err := bots.RunScale(ctx, cfg, nil); gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
			t.Errorf("%s: %v, want INVALID_ARGUMENT", name, err)
		}
	}
	for _, bad := range []string{"127.0.0.9-127.0.0.2", "127.0.0.1-10.0.0.1", "nope"} {
		if _, err := bots.ParseIPRange(bad); err == nil {
			t.Errorf("range %q accepted", bad)
		}
	}
	if ips, _ := bots.ParseIPRange("127.0.0.2,127.0.0.3"); len(ips) != 2 || !ips[1].Equal(net.IPv4(127, 0, 0, 3)) {
		t.Errorf("list parsed as %v", ips)
	}
}
