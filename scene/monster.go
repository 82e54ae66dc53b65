package scene

// Monster AI, a small state machine run once per tick per monster, by id:
//
//	idle ──timer──▶ moving (wander near home) ──arrived──▶ idle
//	idle/moving ──player within aggro range, or hit──▶ aggro ──▶ chase
//	chase ──target in skill range──▶ attack ──target out of range──▶ chase
//	chase/attack ──too far from home, or target dead or gone──▶ leash
//	leash ──home, HP refilled──▶ idle
//	any ──HP 0──▶ dead ──corpse time──▶ removed ──respawn time──▶ new monster at home

// Idle pauses between wanders, in ticks.
const (
	minIdleTicks = 20
	maxIdleTicks = 100
)

// spawnMonster creates the monster of slot i near its spawn point.
func (s *Scene) spawnMonster(i int) {
	slot := &s.slots[i]
	sp := s.cfg.Spawns[slot.point]
	k := s.cfg.monsterKind(sp.Monster)
	kind := s.cfg.Monsters[k]
	home := sp.At
	if sp.Radius > 0 {
		r := int64(sp.Radius)
		home.X += Fixed(s.rng.Between(-r, r))
		home.Y += Fixed(s.rng.Between(-r, r))
		home = clampPos(home, s.cfg.Width, s.cfg.Height)
	}
	e := &entity{
		kind: KindMonster, pos: home, home: home, state: StateIdle, typ: kind.ID, level: kind.Level,
		hp: kind.MaxHP, maxHP: kind.MaxHP, kindIdx: k, spawn: i,
		idleUntil: s.tick + uint64(s.rng.Between(minIdleTicks, maxIdleTicks)),
	}
	s.add(e)
	slot.entity = e.id
	s.living++
}

// think runs every living monster's state machine.
func (s *Scene) think(dt uint64) {
	for _, e := range s.order {
		if e.kind == KindMonster && e.alive() {
			s.thinkMonster(e, dt)
		}
	}
}

func (s *Scene) thinkMonster(e *entity, dt uint64) {
	kind := &s.cfg.Monsters[e.kindIdx]
	speed := step(kind.Speed, dt)
	switch e.state {
	case StateIdle, StateMoving:
		if p := s.nearestPlayer(e.pos, kind.AggroRange); p != nil {
			s.aggro(e, p)
			return
		}
		if e.state == StateIdle {
			if s.tick < e.idleUntil || kind.WanderRadius == 0 {
				return
			}
			r := int64(kind.WanderRadius)
			e.intent = clampPos(Pos{X: e.home.X + Fixed(s.rng.Between(-r, r)), Y: e.home.Y + Fixed(s.rng.Between(-r, r))},
				s.cfg.Width, s.cfg.Height)
			e.state = StateMoving
		}
		s.setPos(e, stepToward(e.pos, e.intent, speed/2, 0))
		if e.pos == e.intent {
			e.state = StateIdle
			e.idleUntil = s.tick + uint64(s.rng.Between(minIdleTicks, maxIdleTicks))
		}
	case StateAggro, StateChase, StateAttack:
		t := s.byID[e.target]
		if t == nil || !t.alive() || !within(e.pos, e.home, kind.LeashRange) {
			s.leash(e)
			return
		}
		sk := s.skills[kind.Skill]
		if !within(e.pos, t.pos, sk.Range) {
			e.state = StateChase
			s.setPos(e, stepToward(e.pos, t.pos, speed, sk.Range*3/4))
			return
		}
		e.state = StateAttack
		e.facing = facingOf(e.pos, t.pos, e.facing)
		if e.ready(sk.ID, s.tick) {
			e.startCooldown(sk.ID, s.tick, sk.Cooldown)
			s.pending = append(s.pending, pendingCombat{attacker: e, defender: t, skill: sk})
		}
	case StateLeash:
		s.setPos(e, stepToward(e.pos, e.home, speed, 0))
		if e.pos == e.home {
			e.state = StateIdle
			e.hp = e.maxHP
			e.idleUntil = s.tick + uint64(s.rng.Between(minIdleTicks, maxIdleTicks))
		}
	}
}

// aggro turns e toward player p; it starts chasing next tick.
func (s *Scene) aggro(e, p *entity) {
	e.state = StateAggro
	e.target = p.id
	e.facing = facingOf(e.pos, p.pos, e.facing)
}

// leash sends e home; it ignores players until it gets there.
func (s *Scene) leash(e *entity) {
	e.state = StateLeash
	e.target = 0
}

// nearestPlayer returns the nearest living player within r of p (lowest id
// on a tie), or nil.
func (s *Scene) nearestPlayer(p Pos, r Fixed) *entity {
	if r <= 0 {
		return nil
	}
	s.visBuf = s.grid.near(p, r, s.visBuf[:0])
	var best *entity
	var bestD int64
	for _, e := range s.visBuf {
		if e.kind != KindPlayer || !e.alive() {
			continue
		}
		d := dist2(p, e.pos)
		if best == nil || d < bestD || d == bestD && e.id < best.id {
			best, bestD = e, d
		}
	}
	return best
}
