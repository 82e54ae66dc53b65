package scene

import (
	"slices"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// maxCatchUp bounds how many ticks of movement one Step applies when the
// caller skipped ticks.
const maxCatchUp = 5

// Scene is one deterministic scene. It does no I/O and starts no goroutines;
// it is not safe for concurrent use: one goroutine (the scene host's tick
// loop) owns it.
type Scene struct {
	cfg  Config
	rng  *Rand
	tick uint64

	nextID  EntityID
	byID    map[EntityID]*entity
	order   []*entity // by id; removed entities leave at the end of the tick
	players map[gamemesh.PlayerID]*entity
	grid    grid
	slots   []spawnSlot
	living  int  // monsters alive
	cleared bool // EventCleared was sent
	skills  map[SkillID]Skill

	// per tick
	out     *Output
	pending []pendingCombat
	inCount map[gamemesh.PlayerID]int
	visBuf  []*entity
	slab    slab
	mark    uint64 // last mark handed out by diff

	// pvp lets players cast on players (SetPvP).
	pvp bool
	// carry holds what Apply produced since the last Step (pickups' grants
	// and events, dropped inputs), handed out by the next Step.
	carry *Output

	// brute makes the AOI check every entity against every observer (tests, benchmarks).
	brute bool
}

// spawnSlot is one monster of a spawn point: alive (entity ≠ 0) or waiting.
type spawnSlot struct {
	point     int
	entity    EntityID
	respawnAt uint64
}

// New returns a scene for cfg with its monsters spawned, at tick 0.
func New(cfg Config) (*Scene, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Scene{
		cfg:     cfg,
		rng:     NewRand(cfg.Seed),
		byID:    make(map[EntityID]*entity),
		players: make(map[gamemesh.PlayerID]*entity),
		grid:    newGrid(cfg.Width, cfg.Height, cfg.ViewRange),
		skills:  make(map[SkillID]Skill, len(cfg.Skills)),
		inCount: make(map[gamemesh.PlayerID]int),
	}
	for _, sk := range cfg.Skills {
		s.skills[sk.ID] = sk
	}
	for i, sp := range cfg.Spawns {
		for range sp.Count {
			s.slots = append(s.slots, spawnSlot{point: i})
		}
	}
	for i := range s.slots {
		s.spawnMonster(i)
	}
	return s, nil
}

// SetPvP allows or forbids casts of players on players from the next Step
// (forbidden: such casts are refused with FEATURE_DISABLED). The scene host
// follows the "pvp" feature switch with it.
func (s *Scene) SetPvP(on bool) { s.pvp = on }

// Tick returns the last tick stepped (0 before the first Step).
func (s *Scene) Tick() uint64 { return s.tick }

// Step advances the scene to tick (which must be after the last one) with
// inputs, applied in order, and returns what happened. The same Config and
// the same sequence of Steps give the same Outputs, byte for byte.
func (s *Scene) Step(tick uint64, inputs []Input) Output {
	out := Output{Tick: tick}
	if tick <= s.tick {
		for i, in := range inputs {
			out.Errors = append(out.Errors, InputError{Index: i, Kind: in.Kind, Player: in.Player, Seq: in.Seq,
				Err: gamemesh.Errorf(gamemesh.CodeInvalidArgument, "tick %d is not after tick %d", tick, s.tick)})
		}
		return out
	}
	dt := min(tick-s.tick, maxCatchUp) * uint64(s.cfg.TickMillis)
	s.tick = tick
	s.out = &out
	s.slab.newTick()

	if c := s.carry; c != nil {
		for _, ev := range c.Events {
			ev.Tick = tick // as if applied at the start of this Step
			out.Events = append(out.Events, ev)
		}
		out.Grants = append(out.Grants, c.Grants...)
		out.Dropped += c.Dropped
		s.carry = nil
	}
	s.handleInputs(inputs)
	s.think(dt)
	s.movePlayers(dt)
	s.resolveCombat()
	s.timers()
	s.compact()
	s.sync()

	s.out = nil
	clear(s.pending)
	s.pending = s.pending[:0]
	clear(s.inCount)
	return out
}

// newEntity allocates an id and files e.
func (s *Scene) add(e *entity) {
	s.nextID++
	e.id = s.nextID
	s.byID[e.id] = e
	s.order = append(s.order, e)
	s.grid.insert(e)
}

// remove takes e out of the world; it leaves s.order at compact.
func (s *Scene) remove(e *entity) {
	if e.removed {
		return
	}
	e.removed = true
	s.grid.remove(e)
	delete(s.byID, e.id)
	if e.kind == KindPlayer {
		delete(s.players, e.player)
	}
}

// compact drops removed entities from the id order.
func (s *Scene) compact() {
	s.order = slices.DeleteFunc(s.order, func(e *entity) bool { return e.removed })
}

// setPos moves e to p (inside the map) and turns it to face the way it went.
func (s *Scene) setPos(e *entity, p Pos) {
	if p == e.pos {
		return
	}
	e.facing = facingOf(e.pos, p, e.facing)
	e.pos = p
	s.grid.moved(e)
}

// step returns how far speed (per second) goes in dt milliseconds.
func step(speed Fixed, dt uint64) Fixed { return Fixed(int64(speed) * int64(dt) / 1000) }

// Entity returns the state of entity id.
func (s *Scene) Entity(id EntityID) (EntityView, bool) {
	e, ok := s.byID[id]
	if !ok {
		return EntityView{}, false
	}
	return e.view(), true
}

// Player returns the state of player p's entity.
func (s *Scene) Player(p gamemesh.PlayerID) (EntityView, bool) {
	e, ok := s.players[p]
	if !ok {
		return EntityView{}, false
	}
	return e.view(), true
}

// Players returns how many players are in the scene.
func (s *Scene) Players() int { return len(s.players) }

// MonstersAlive returns how many monsters are alive.
func (s *Scene) MonstersAlive() int { return s.living }

// Entities returns every entity's state, by id.
func (s *Scene) Entities() []EntityView {
	out := make([]EntityView, 0, len(s.order))
	for _, e := range s.order {
		if !e.removed {
			out = append(out, e.view())
		}
	}
	return out
}

// Visible returns the ids of what player p was last sent (its view), sorted.
func (s *Scene) Visible(p gamemesh.PlayerID) []EntityID {
	e, ok := s.players[p]
	if !ok {
		return nil
	}
	ids := make([]EntityID, len(e.obs.known))
	for i, k := range e.obs.known {
		ids[i] = k.sent.id
	}
	slices.Sort(ids)
	return ids
}

// Info describes the scene to player p, to send when it joins.
func (s *Scene) Info(p gamemesh.PlayerID) *gamev1.SceneInfo {
	info := &gamev1.SceneInfo{
		SceneId: s.cfg.ID, WidthMm: int64(s.cfg.Width), HeightMm: int64(s.cfg.Height),
		ViewRangeMm: int64(s.cfg.ViewRange), QuantumMm: int64(s.cfg.Quantum), TickMs: s.cfg.TickMillis,
	}
	if e, ok := s.players[p]; ok {
		info.SelfId = uint32(e.id)
	}
	return info
}
