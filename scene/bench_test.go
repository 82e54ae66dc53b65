package scene

import (
	"fmt"
	"math"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
)

// Benchmarks (go test -bench . ./scene/):
//
//   - BenchmarkAOI: one tick of AOI work — every entity moves, then every
//     observer's visible set is computed — with the nine-grid and by brute
//     force, for 1k, 5k and 20k players at a constant density (about 30 in
//     view). BenchmarkAOIRatio runs both on the same scene in one benchmark
//     and reports how many times cheaper the nine-grid is.
//   - BenchmarkStep: a whole Step (inputs, movement, AOI, delta encoding)
//     with every player walking.
//   - BenchmarkSync: bytes sent per observer per tick with delta encoding
//     against full snapshots, for a crowded city and a dungeon.

// aoiViewRange and aoiArea give about 30 entities in view: π·20²/40 ≈ 31.
const (
	aoiViewRange = 20 * Meter
	aoiArea      = 40 // m² per entity
)

func aoiSpec(n int, brute bool) simSpec {
	side := Fixed(math.Sqrt(float64(n*aoiArea))) * Meter
	return simSpec{mode: ModeGrid, size: side, view: aoiViewRange, players: n, seed: 1, brute: brute}
}

// aoiTick moves every entity up to 0.25 m and computes every observer's
// view; it returns the total number of entities seen.
func aoiTick(s *Scene, r *Rand, brute bool) int {
	const stride = 250
	for _, e := range s.order {
		p := clampPos(Pos{X: e.pos.X + Fixed(r.Between(-stride, stride)), Y: e.pos.Y + Fixed(r.Between(-stride, stride))}, s.cfg.Width, s.cfg.Height)
		if brute {
			e.pos = p // brute force needs no index
		} else {
			s.setPos(e, p)
		}
	}
	seen := 0
	for _, o := range s.order {
		s.visBuf = s.visible(o, s.visBuf)
		seen += len(s.visBuf)
	}
	return seen
}

func BenchmarkAOI(b *testing.B) {
	for _, c := range []struct {
		n     int
		brute bool
	}{{1000, false}, {1000, true}, {5000, false}, {5000, true}, {20000, false}} {
		name := "grid"
		if c.brute {
			name = "brute"
		}
		b.Run(fmt.Sprintf("%s/n=%d", name, c.n), func(b *testing.B) {
			m := newSim(b, aoiSpec(c.n, c.brute))
			r := NewRand(2)
			seen := 0
			b.ResetTimer()
			for range b.N {
				seen += aoiTick(m.s, r, c.brute)
			}
			b.ReportMetric(float64(seen)/float64(b.N*c.n), "visible/obs")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/tick")
		})
	}
}

// BenchmarkAOIRatio runs the nine-grid and brute force on the same 5 000
// moving players, alternating, and reports brute/grid.
func BenchmarkAOIRatio(b *testing.B) {
	m := newSim(b, aoiSpec(5000, false))
	r := NewRand(3)
	var grid, brute time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		g := aoiTick(m.s, r, false)
		t1 := time.Now()
		m.s.brute = true
		f := aoiTick(m.s, r, true)
		m.s.brute = false
		// brute moved entities without re-filing them: re-file now, untimed.
		for _, e := range m.s.order {
			m.s.grid.moved(e)
		}
		brute += time.Since(t1)
		grid += t1.Sub(t0)
		if g == 0 || f == 0 {
			b.Fatal("nobody sees anybody")
		}
	}
	b.ReportMetric(float64(grid.Microseconds())/float64(b.N)/1000, "grid-ms/tick")
	b.ReportMetric(float64(brute.Microseconds())/float64(b.N)/1000, "brute-ms/tick")
	b.ReportMetric(float64(brute)/float64(grid), "brute/grid")
}

func BenchmarkStep(b *testing.B) {
	for _, c := range []struct {
		n     int
		brute bool
	}{{1000, false}, {5000, false}, {5000, true}, {20000, false}} {
		name := "grid"
		if c.brute {
			name = "brute"
		}
		b.Run(fmt.Sprintf("%s/n=%d", name, c.n), func(b *testing.B) {
			spec := aoiSpec(c.n, c.brute)
			spec.moveChance, spec.stroll = 10, 8*Meter
			m := newSim(b, spec)
			for range 40 { // everyone under way
				m.step(m.inputs())
			}
			b.ResetTimer()
			for range b.N {
				m.step(m.inputs())
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/tick")
		})
	}
}

// BenchmarkSync measures what each observer is sent per tick with delta
// encoding, against full snapshots of everything it sees, in a crowded city
// (players strolling and pausing, nine-grid) and a dungeon (a party
// fighting monsters, full sync).
func BenchmarkSync(b *testing.B) {
	for _, c := range []struct {
		name string
		spec simSpec
	}{
		{"city", simSpec{mode: ModeGrid, size: 200 * Meter, view: 25 * Meter, players: 1000,
			moveChance: 3, stroll: 8 * Meter, seed: 11}},
		{"dungeon", simSpec{mode: ModeFull, size: 60 * Meter, view: 60 * Meter, players: 5, monsters: 30,
			moveChance: 3, stroll: 8 * Meter, fight: true, seed: 12}},
	} {
		b.Run(c.name, func(b *testing.B) {
			m := newSim(b, c.spec)
			for range 100 { // past the joins and into a steady state
				m.step(m.inputs())
			}
			var delta, full, observed int
			b.ResetTimer()
			for range b.N {
				out := m.step(m.inputs())
				b.StopTimer()
				for _, u := range out.Updates {
					delta += proto.Size(u.Msg)
				}
				for _, o := range m.s.order {
					if o.kind == KindPlayer {
						full += proto.Size(m.s.fullSnapshot(o))
						observed++
					}
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(delta)/float64(observed), "delta-B/obs/tick")
			b.ReportMetric(float64(full)/float64(observed), "full-B/obs/tick")
			b.ReportMetric(float64(delta)/float64(observed)*1000/float64(m.s.cfg.TickMillis), "delta-B/obs/s")
			b.ReportMetric(float64(delta)/float64(full), "delta/full")
		})
	}
}
