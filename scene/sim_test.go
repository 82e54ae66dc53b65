package scene

import (
	"fmt"
	"testing"

	"github.com/gamemesh/gamemesh"
)

// simSpec describes a generated scene and the bots that play in it.
type simSpec struct {
	mode     Mode
	size     Fixed // the map is size × size
	view     Fixed
	players  int
	monsters int
	// moveChance is the percent chance per tick that a bot picks a new target
	// (100: every bot re-targets every tick, so everyone always moves).
	moveChance int
	// stroll is how far a new target lies at most, per axis.
	stroll Fixed
	// fight makes bots cast at the nearest monster and pick up drops.
	fight bool
	seed  uint64
	// brute uses brute-force AOI.
	brute bool
}

// sim is a scene with bots: a deterministic input generator (its own Rand).
type sim struct {
	spec  simSpec
	s     *Scene
	rng   *Rand
	ids   []gamemesh.PlayerID
	clock uint64
}

func simConfig(spec simSpec) Config {
	cfg := Config{
		ID: "sim", Mode: spec.mode, Width: spec.size, Height: spec.size, ViewRange: spec.view, Seed: spec.seed,
		PlayerSpawn: Pos{X: spec.size / 2, Y: spec.size / 2},
		Skills: []Skill{
			{ID: 1, Name: "slash", Range: 3 * Meter, Cooldown: 10, Power: 25, Player: true},
			{ID: 100, Name: "bite", Range: 2 * Meter, Cooldown: 10, Power: 30},
		},
		Monsters: []MonsterKind{
			{ID: "wolf", Level: 2, MaxHP: 80, Speed: 4 * Meter, AggroRange: 5 * Meter, LeashRange: 15 * Meter, WanderRadius: 4 * Meter, Skill: 100},
		},
		Rules: DefaultRules{DropTables: []DropTable{{Monster: "wolf", Items: []DropChance{{Item: "fang", Percent: 60, Min: 1, Max: 2}}}}},
	}
	if spec.monsters > 0 {
		r := NewRand(spec.seed ^ 0xabcdef)
		for range spec.monsters {
			at := Pos{X: Fixed(r.Between(0, int64(spec.size))), Y: Fixed(r.Between(0, int64(spec.size)))}
			cfg.Spawns = append(cfg.Spawns, SpawnPoint{Monster: "wolf", At: at, Count: 1, RespawnTicks: 200})
		}
	}
	return cfg
}

func newSim(tb testing.TB, spec simSpec) *sim {
	tb.Helper()
	s, err := New(simConfig(spec))
	if err != nil {
		tb.Fatal(err)
	}
	s.brute = spec.brute
	m := &sim{spec: spec, s: s, rng: NewRand(spec.seed + 1)}
	var joins []Input
	for i := range spec.players {
		id := gamemesh.PlayerID(fmt.Sprintf("bot%d", i))
		m.ids = append(m.ids, id)
		joins = append(joins, Join(id, m.coord(), m.coord(), int32(1+i%5), 0))
	}
	m.step(joins)
	return m
}

// coord is a random coordinate in metres inside the map.
func (m *sim) coord() float32 {
	return float32(m.rng.Between(0, int64(m.spec.size))) / float32(Meter)
}

func (m *sim) step(in []Input) Output {
	m.clock++
	return m.s.Step(m.clock, in)
}

// inputs are the bots' inputs for the next tick.
func (m *sim) inputs() []Input {
	var in []Input
	for _, id := range m.ids {
		p, ok := m.s.players[id]
		if !ok || !p.alive() {
			continue
		}
		if m.spec.fight {
			if t := m.nearest(p, KindMonster, 3*Meter); t != nil && t.alive() && p.ready(1, m.clock+1) {
				in = append(in, Cast(id, 1, t.id))
				continue
			}
			if d := m.nearest(p, KindDrop, 2*Meter); d != nil {
				in = append(in, Pickup(id, d.id))
				continue
			}
		}
		if m.rng.Intn(100) < m.spec.moveChance {
			r := int64(m.spec.stroll)
			to := clampPos(Pos{X: p.pos.X + Fixed(m.rng.Between(-r, r)), Y: p.pos.Y + Fixed(m.rng.Between(-r, r))}, m.spec.size, m.spec.size)
			in = append(in, Move(id, float32(to.X)/float32(Meter), float32(to.Y)/float32(Meter), m.clock))
		}
	}
	return in
}

// nearest finds the nearest entity of kind within r of p through the grid.
func (m *sim) nearest(p *entity, kind Kind, r Fixed) *entity {
	var best *entity
	for _, e := range m.s.grid.near(p.pos, r, nil) {
		if e.kind == kind && (best == nil || dist2(p.pos, e.pos) < dist2(p.pos, best.pos)) {
			best = e
		}
	}
	return best
}
