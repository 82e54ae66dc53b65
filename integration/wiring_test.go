//go:build integration

package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh/bots"
)

// TestDaprModeWiringWithBots runs what `gamemesh fn` and `gamemesh gate` run —
// the internal/system composition, each behind its own daprd — and drives it
// with bots (login, mail, claims, guilds): every call must succeed.
func TestDaprModeWiringWithBots(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := startCluster(t, StartRedis(t), clusterOptions{Gates: 1})
	gt := c.gates[0]

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
