package scenehost_test

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh/bots"
	"github.com/gamemesh/gamemesh/scenehost"
)

func (w *world) bots(players int, d time.Duration, mix bots.SceneMix) bots.Report {
	w.t.Helper()
	rep, err := bots.Run(context.Background(), bots.Config{Players: players, Duration: d, Addr: "tcp://" + w.gate.Addr(),
		HTTP: "http://" + w.gate.HTTPAddr(), MailEvery: 3 * time.Second, Scene: mix}, nil)
	must(w.t, err)
	return rep
}

// A scene host killed during a bots run: its players are told, put back on
// the live host without losing their connection, and play on.
func TestHostKilledDuringBotsRun(t *testing.T) {
	w := newWorld(t)
	cfg1, cfg2 := hostConfig("host-1"), hostConfig("host-2")
	cfg1.ClaimTTL, cfg2.ClaimTTL = 1500*time.Millisecond, 1500*time.Millisecond
	w.addHost(cfg1, 500*time.Millisecond)
	w.addHost(cfg2, 500*time.Millisecond)
	done := make(chan bots.Report, 1)
	go func() {
		rep, err := bots.Run(context.Background(), bots.Config{Players: 20, Duration: 9 * time.Second, Addr: "tcp://" + w.gate.Addr(),
			HTTP: "http://" + w.gate.HTTPAddr(), MailEvery: 3 * time.Second, Scene: bots.SceneMix{DungeonEvery: 4 * time.Second}}, nil)
		if err != nil {
			t.Error(err)
		}
		done <- rep
	}()
	time.Sleep(3 * time.Second)
	w.kill("host-1")
	rep := <-done
	t.Logf("%s", rep.JSON())
	if rep.SessionsLost != 0 || rep.Scene == nil || rep.Scene.Lost == 0 || rep.Scene.Enters <= int64(rep.Players) {
		t.Fatalf("sessions lost %d, scene %+v: want no session lost, scene.lost pushes and re-entries", rep.SessionsLost, rep.Scene)
	}
	for route, st := range rep.Calls {
		if strings.HasPrefix(route, "scene.") && st.Err != 0 {
			t.Errorf("%s: %d errors", route, st.Err)
		}
	}
	if moves := rep.Calls["scene.move"].OK; moves < 20*5*3 {
		t.Fatalf("only %d moves: play did not go on after the kill", moves)
	}
}

// BenchmarkBots runs bots (movement/combat mix, mail, guilds, dungeons)
// against a gate and one scene host, then against a gate and two scene
// hosts (the city on one, dungeon instances on the least loaded), in one
// process, and reports the realtime p50/p99 (the worst of move, cast and
// pickup), the p99 of scene changes (enter, leave) and errors.
// BOTS_N (default 100) and BOTS_D (default 15s) size the runs:
//
//	go test -run '^$' -bench Bots -benchtime 1x ./scenehost/
func BenchmarkBots(b *testing.B) {
	n, d := 100, 15*time.Second
	if v, err := strconv.Atoi(os.Getenv("BOTS_N")); err == nil {
		n = v
	}
	if v, err := time.ParseDuration(os.Getenv("BOTS_D")); err == nil {
		d = v
	}
	for _, hosts := range []int{1, 2} {
		b.Run("hosts="+strconv.Itoa(hosts), func(b *testing.B) {
			for range b.N {
				w := newWorld(b)
				w.addHost(hostConfig("host-1"), 30*time.Second)
				if hosts == 2 {
					w.addHost(hostConfig("host-2", []string{}...), 30*time.Second)
				}
				gc0 := scenehost.ReadGC()
				rep := w.bots(n, d, bots.SceneMix{DungeonEvery: 20 * time.Second})
				gc := scenehost.ReadGC().Since(gc0)
				// In-scene inputs (move, cast, pickup) and scene changes
				// (enter, leave: a checkin and a checkout) apart.
				var p50, p99, change float64
				for route, st := range rep.Calls {
					switch route {
					case bots.RouteSceneMove, bots.RouteSceneCast, bots.RouteScenePickup:
						p50, p99 = max(p50, float64(st.P50Ms)), max(p99, float64(st.P99Ms))
					case bots.RouteSceneEnter, bots.RouteSceneLeave:
						change = max(change, float64(st.P99Ms))
					}
				}
				b.ReportMetric(p50, "rt-p50-ms")
				b.ReportMetric(p99, "rt-p99-ms")
				b.ReportMetric(change, "enter-p99-ms")
				b.ReportMetric(float64(rep.Errors), "errors")
				b.ReportMetric(float64(gc.PauseP99.Microseconds()), "gc-p99-µs")
				b.ReportMetric(float64(gc.PauseMax.Microseconds()), "gc-max-µs")
				b.ReportMetric(gc.CPUShare*100, "gc-cpu-%")
				b.Logf("%s", rep.JSON())
			}
		})
	}
}
