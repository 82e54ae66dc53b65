package scene

import (
	"fmt"
	"slices"
	"testing"

	"github.com/gamemesh/gamemesh"
)

// TestNineGridMatchesBruteForce builds random scenes — many entities on cell
// borders, map edges and exactly at view distance — and checks that every
// observer's nine-grid view is the brute-force view, also after moves.
func TestNineGridMatchesBruteForce(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		r := NewRand(seed)
		view := Fixed(r.Between(1, 20)) * Meter / 2
		size := view * Fixed(r.Between(1, 12))
		size += Fixed(r.Between(0, int64(view)))
		s, err := New(Config{Width: size, Height: size, ViewRange: view, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		coord := func() Fixed {
			switch r.Intn(4) {
			case 0: // on a cell border
				return min(view*Fixed(r.Between(0, int64(size/view))), size)
			case 1: // a map edge
				return size * Fixed(r.Intn(2))
			}
			return Fixed(r.Between(0, int64(size)))
		}
		var ins []Input
		n := int(r.Between(1, 120))
		for i := range n {
			p := Pos{X: coord(), Y: coord()}
			if i > 0 && r.Intn(4) == 0 { // exactly view range from another entity, on an axis
				prev := ins[r.Intn(len(ins))]
				p = clampPos(Pos{X: Fixed(prev.X*float32(Meter)) + view, Y: Fixed(prev.Y * float32(Meter))}, size, size)
			}
			ins = append(ins, Join(gamemesh.PlayerID(fmt.Sprintf("p%d", i)), float32(p.X)/float32(Meter), float32(p.Y)/float32(Meter), 1, 0))
		}
		for tick := uint64(1); tick <= 5; tick++ {
			out := s.Step(tick, ins)
			if len(out.Errors) > 0 {
				t.Fatalf("seed %d: %v", seed, out.Errors[0].Err)
			}
			for _, o := range s.order {
				grid := s.visible(o, nil)
				s.brute = true
				brute := s.visible(o, nil)
				s.brute = false
				if !slices.Equal(ids(grid), ids(brute)) {
					t.Fatalf("seed %d tick %d: observer %d at %v: grid sees %v, brute force %v", seed, tick, o.id, o.pos, ids(grid), ids(brute))
				}
			}
			ins = ins[:0]
			for _, o := range s.order {
				if r.Intn(2) == 0 {
					ins = append(ins, Move(o.player, float32(coord())/float32(Meter), float32(coord())/float32(Meter), 0))
				}
			}
			s.cfg.MaxMoveDistance = 2 * size
			s.cfg.PlayerSpeed = size * 20 // a long stride, to cross many cells per tick
		}
	}
}

// ids returns the sorted ids of es.
func ids(es []*entity) []EntityID {
	out := make([]EntityID, len(es))
	for i, e := range es {
		out[i] = e.id
	}
	slices.Sort(out)
	return out
}

// TestGridIndexStaysConsistent checks that every entity is filed in the cell
// of its position, at its slot, after a busy simulation.
func TestGridIndexStaysConsistent(t *testing.T) {
	m := newSim(t, simSpec{mode: ModeGrid, size: 80 * Meter, view: 8 * Meter, players: 40, monsters: 30,
		moveChance: 50, stroll: 8 * Meter, fight: true, seed: 9})
	for range 300 {
		m.step(m.inputs())
	}
	g := &m.s.grid
	filed := 0
	for c, cell := range g.cells {
		for slot, ce := range cell {
			e := ce.e
			if e.removed || int(e.cell) != c || int(e.slot) != slot || g.cellOf(e.pos) != e.cell || ce.pos != e.pos {
				t.Fatalf("entity %d at %v filed in cell %d slot %d at %v, says cell %d slot %d, belongs in %d (removed %v)",
					e.id, e.pos, c, slot, ce.pos, e.cell, e.slot, g.cellOf(e.pos), e.removed)
			}
			filed++
		}
	}
	if filed != len(m.s.order) || filed != len(m.s.byID) {
		t.Fatalf("%d entities filed, %d in order, %d by id", filed, len(m.s.order), len(m.s.byID))
	}
}
