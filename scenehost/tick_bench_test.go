package scenehost

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/scene"
)

type nopInvoker struct{}

func (nopInvoker) Invoke(context.Context, gamemesh.Request) ([]byte, error) { return nil, nil }

type nopPublisher struct{}

func (nopPublisher) Publish(context.Context, string, gamemesh.Event) error { return nil }

// BenchmarkTickBudget measures one scene tick of a host (inputs, the core's
// Step with the shipped city's monsters, nine-grid AOI and delta encoding,
// then marshalling every update and queueing it on the gate links) with a
// crowd of n players spread over the city, a quarter of them sending a move
// every tick (each player ~5 moves/s at 20 Hz). It reports the p50 and p99
// tick time: a host keeps 20 Hz while p99 < 25 ms (half the tick period,
// leaving the other half to the rest of the process).
//
//	go test -run '^$' -bench TickBudget -benchtime 200x ./scenehost/
func BenchmarkTickBudget(b *testing.B) {
	for _, n := range []int{500, 1000, 2000, 3000, 4000, 6000} {
		b.Run(fmt.Sprintf("players=%d", n), func(b *testing.B) {
			h, err := New(Config{ID: "bench"}, Deps{Invoker: nopInvoker{}, Publisher: nopPublisher{}, Directory: directory.NewMemoryScenes()})
			if err != nil {
				b.Fatal(err)
			}
			def := DefaultScenes()[0]
			r, err := h.newRun("city", &def)
			if err != nil {
				b.Fatal(err)
			}
			links := []*link{newLink("gate-1"), newLink("gate-2"), newLink("gate-3")}
			rng := rand.New(rand.NewPCG(1, 2))
			ps := make([]*held, n)
			pos := make([][2]float32, n)
			for i := range ps {
				ps[i] = &held{id: gamemesh.PlayerID(fmt.Sprintf("p%06d", i)), link: links[i%len(links)], state: stIn, session: "s"}
				pos[i] = [2]float32{5 + rng.Float32()*390, 5 + rng.Float32()*390}
				x, y := pos[i][0], pos[i][1]
				r.q.push(queued{in: scene.Join(ps[i].id, x, y, 1, 0), p: ps[i], then: func(r *sceneRun, _ *scene.Output, err *gamemesh.Error) {
					if err == nil {
						r.members[ps[i].id] = ps[i]
					}
				}})
			}
			var buf []queued
			var inputs []scene.Input
			tick := uint64(0)
			step := func() time.Duration {
				tick++
				for i := range ps {
					if rng.IntN(4) != 0 {
						continue
					}
					pos[i][0] = min(max(pos[i][0]+rng.Float32()*6-3, 1), 399)
					pos[i][1] = min(max(pos[i][1]+rng.Float32()*6-3, 1), 399)
					r.q.push(queued{in: scene.Move(ps[i].id, pos[i][0], pos[i][1], 0), p: ps[i], route: "scene.move"})
				}
				start := time.Now()
				buf, inputs = r.step(tick, buf, inputs)
				d := time.Since(start)
				for _, l := range links {
					l.q.Drain()
				}
				return d
			}
			for range 20 { // joins and warm-up
				step()
			}
			times := make([]time.Duration, 0, b.N)
			gc0 := ReadGC()
			b.ResetTimer()
			for range b.N {
				times = append(times, step())
			}
			b.StopTimer()
			gc := ReadGC().Since(gc0)
			b.ReportMetric(float64(gc.PauseMax.Microseconds()), "gc-max-µs")
			b.ReportMetric(float64(gc.PauseP99.Microseconds()), "gc-p99-µs")
			b.ReportMetric(gc.CPUShare*100, "gc-cpu-%")
			slices.Sort(times)
			p := func(q int) float64 { return float64(times[min(len(times)-1, len(times)*q/100)].Microseconds()) / 1000 }
			b.ReportMetric(p(50), "p50-ms")
			b.ReportMetric(p(99), "p99-ms")
			b.ReportMetric(0, "ns/op")
		})
	}
}
