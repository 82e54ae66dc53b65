//go:build integration

package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/client"
	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/directory/redisdir"
	"github.com/gamemesh/gamemesh/feature"
	"github.com/gamemesh/gamemesh/feature/featuretest"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/redisconfig"
)

const guildSwitch = feature.SwitchPrefix + "guild"

// guildOn reports whether guild routes pass conn's gate: any answer but
// FEATURE_DISABLED (a player in no guild gets NOT_FOUND) means on.
func guildOn(ctx context.Context, conn *client.Conn) (bool, error) {
	err := conn.Call(ctx, "guild.info", &gamev1.GuildRequest{}, new(gamev1.GuildResponse))
	switch code := gamemesh.CodeOf(err); code {
	case gamemesh.CodeFeatureDisabled:
		return false, nil
	case gamemesh.CodeOK, gamemesh.CodeNotFound:
		return true, nil
	default:
		return false, fmt.Errorf("guild.info: %w", err)
	}
}

// TestFeaturePropagationDaprMode measures, over 100 flips, the time from the
// operator's write to the Redis configuration store (what `gamemesh ctl
// --redis` does) to refusal — and back — at every gate, each gate reading
// the store through its own sidecar. Every flip must be seen within 5 s;
// the figures are logged (the goal is p99 < 1 s).
func TestFeaturePropagationDaprMode(t *testing.T) {
	r := StartRedis(t)
	c := startCluster(t, r, clusterOptions{Gates: 2})
	ctx := context.Background()
	st, err := redisconfig.Open(ctx, r.Addr(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// Probes call back to back: lift the per-connection rate limit first.
	for k, v := range map[string]string{"setting.gate.rate_limit": "100000", "setting.gate.rate_burst": "100000"} {
		if _, err := st.Set(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	conns := []*client.Conn{c.player(t, 0, "propagation-device-1"), c.player(t, 1, "propagation-device-2")}
	time.Sleep(500 * time.Millisecond) // the limits reach both gates

	var want bool
	flip := func(ctx context.Context, on bool) error {
		want = on
		v := feature.Off
		if on {
			v = feature.On
		}
		_, err := st.Set(ctx, guildSwitch, v)
		return err
	}
	// The new state is seen when every gate shows it.
	probe := func(ctx context.Context) (bool, error) {
		for _, conn := range conns {
			on, err := guildOn(ctx, conn)
			if err != nil {
				return false, err
			}
			if on != want {
				return !want, nil
			}
		}
		return want, nil
	}
	want = true
	res, err := featuretest.MeasurePropagation(ctx, flip, probe, featuretest.Options{Flips: 100})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Dapr mode, write to refusal at both gates: %v", res)
}

// rosterWatch waits for every process of a cluster to report a version.
type rosterWatch struct {
	t      *testing.T
	roster *redisdir.Roster
	want   int // processes expected in the roster
}

// converged waits until want processes report version (or newer) of key and
// returns how long after since that happened, or fails after within.
func (w rosterWatch) converged(key, version string, since time.Time, within time.Duration) time.Duration {
	w.t.Helper()
	var last []directory.Member
	var lag []directory.Member
	ok := waitUntil(within, func() bool {
		ms, err := w.roster.Members(context.Background(), "")
		if err != nil {
			return false
		}
		last, lag = ms, directory.Lagging(ms, key, version)
		return len(ms) == w.want && len(lag) == 0
	})
	if !ok {
		w.t.Fatalf("%s version %s not reached by every process within %v: %d members, lagging %v", key, version, within, len(last), lag)
	}
	return time.Since(since)
}

// versions returns the version of key each process reports.
func (w rosterWatch) versions(key string) map[string]string {
	w.t.Helper()
	ms, err := w.roster.Members(context.Background(), "")
	if err != nil {
		w.t.Fatal(err)
	}
	out := map[string]string{}
	for _, m := range ms {
		out[m.ID] = m.Info[directory.InfoConfigPrefix+key]
	}
	return out
}

// TestFeatureSwitchConvergesThroughFaults flips a switch while Redis
// restarts, while a gate's daprd is down, and during a 10 s network cut
// between every daprd and Redis (a toxiproxy in between): each time every
// process (one function process, two gates) keeps its last known good value
// while it cannot read, then converges to the latest version. The worst
// staleness — write to the last process applying it — is reported.
func TestFeatureSwitchConvergesThroughFaults(t *testing.T) {
	r := StartRedis(t)
	proxy := StartToxiproxy(t, r.Addr())
	c := startCluster(t, r, clusterOptions{Gates: 2, SidecarRedis: proxy.Addr()})
	ctx := context.Background()
	st, err := redisconfig.Open(ctx, r.Addr(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w := rosterWatch{t: t, roster: redisdir.NewRoster(st.Client(), "", 0), want: 1 + len(c.gates)}
	write := func(value string) (string, time.Time) {
		t.Helper()
		at := time.Now()
		v, err := st.Set(ctx, guildSwitch, value)
		if err != nil {
			t.Fatalf("writing %s=%s: %v", guildSwitch, value, err)
		}
		return v, at
	}
	type sample struct {
		fault string
		d     time.Duration
	}
	var staleness []sample

	v, at := write(feature.Off)
	staleness = append(staleness, sample{"no fault", w.converged(guildSwitch, v, at, 15*time.Second)})

	// Redis restarts. While it is down the operator's write fails clearly
	// and changes nothing; the write made as soon as it is back reaches
	// every process although the sidecars' notifications are lost until their
	// components resubscribe.
	r.Stop()
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	_, err = st.Set(cctx, guildSwitch, feature.On)
	cancel()
	if gamemesh.CodeOf(err) != gamemesh.CodeUnavailable {
		t.Fatalf("write while Redis is down: %v, want UNAVAILABLE", err)
	}
	r.Start()
	v, at = write(feature.On)
	staleness = append(staleness, sample{"Redis restart", w.converged(guildSwitch, v, at, 30*time.Second)})

	// A gate's sidecar is killed: that gate keeps serving on what it knows;
	// the switch flipped meanwhile reaches it once the sidecar is back.
	before := w.versions(guildSwitch)
	c.gateSidecars[1].Kill()
	v, at = write(feature.Off)
	time.Sleep(2 * time.Second)
	if got := w.versions(guildSwitch)["gate-2"]; got != before["gate-2"] {
		t.Fatalf("gate-2 reports version %s with its sidecar down, want the last known %s", got, before["gate-2"])
	}
	c.gateSidecars[1].Restart()
	staleness = append(staleness, sample{"gate daprd restart", w.converged(guildSwitch, v, at, 30*time.Second)})

	// The network between every daprd and Redis is cut for 10 s; the write
	// lands in Redis (the operator reaches it), no process can read it.
	before = w.versions(guildSwitch)
	proxy.Cut()
	time.Sleep(time.Second)
	v, at = write(feature.On)
	time.Sleep(9 * time.Second)
	if got := w.versions(guildSwitch); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Fatalf("during the cut the processes report %v, want the last known %v", got, before)
	}
	proxy.Heal()
	healed := time.Now()
	staleness = append(staleness, sample{"10 s network cut", w.converged(guildSwitch, v, at, 40*time.Second)})
	t.Logf("after the cut healed, every process converged in %v", time.Since(healed).Round(time.Millisecond))

	worst := time.Duration(0)
	for _, s := range staleness {
		t.Logf("staleness (write → every process), %s: %v", s.fault, s.d.Round(time.Millisecond))
		worst = max(worst, s.d)
	}
	t.Logf("worst staleness: %v", worst.Round(time.Millisecond))
	if conn := c.player(t, 0, "faults-device-1"); conn != nil {
		if on, err := guildOn(ctx, conn); err != nil || !on {
			t.Fatalf("after the faults guild is on everywhere, but gate-1 says on=%v (%v)", on, err)
		}
	}
}
