package scene

import (
	"fmt"
	"strconv"
)

// pendingCombat is a cast accepted this tick, resolved at the end of it.
type pendingCombat struct {
	attacker, defender *entity
	skill              Skill
}

// resolveCombat hands the tick's casts to the Rules in one batch and applies
// the results in order.
func (s *Scene) resolveCombat() {
	if len(s.pending) == 0 {
		return
	}
	batch := CombatBatch{Scene: s.cfg.ID, Tick: s.tick, Seed: s.rng.Uint64(), Events: make([]CombatEvent, len(s.pending))}
	for i, pc := range s.pending {
		batch.Events[i] = CombatEvent{Attacker: pc.attacker.combatant(), Defender: pc.defender.combatant(), Skill: pc.skill}
	}
	results, err := s.cfg.Rules.ResolveCombat(batch)
	if err == nil && len(results) != len(batch.Events) {
		err = fmt.Errorf("scene: rules returned %d results for %d combat events", len(results), len(batch.Events))
	}
	if err != nil {
		s.out.RulesErr = err
		return
	}
	for i, pc := range s.pending {
		att, def := pc.attacker, pc.defender
		if att.removed || !def.alive() {
			continue // the attacker left, or the defender was killed earlier in this batch
		}
		def.hp -= max(results[i].Damage, 0)
		if def.hp > 0 {
			if def.kind == KindMonster && (def.state == StateIdle || def.state == StateMoving) && att.kind == KindPlayer && att.alive() {
				s.aggro(def, att)
			}
			continue
		}
		def.hp = 0
		if def.kind == KindMonster {
			s.killMonster(def, att, results[i])
		} else {
			s.killPlayer(def, att)
		}
	}
}

func (s *Scene) killMonster(m, killer *entity, res CombatResult) {
	m.state, m.target, m.moving = StateDead, 0, false
	m.removeAt = s.tick + s.cfg.CorpseTicks
	s.living--
	defer s.checkCleared()
	if killer.kind != KindPlayer {
		return
	}
	s.out.Events = append(s.out.Events, Event{Kind: EventMonsterKilled, Tick: s.tick, Player: killer.player, Entity: m.id, Type: m.typ, Level: m.level})
	for _, d := range res.Drops {
		if d.Count <= 0 || d.Item == "" {
			continue
		}
		r := int64(Meter)
		at := clampPos(Pos{X: m.pos.X + Fixed(s.rng.Between(-r, r)), Y: m.pos.Y + Fixed(s.rng.Between(-r, r))}, s.cfg.Width, s.cfg.Height)
		s.add(&entity{
			kind: KindDrop, pos: at, state: StateIdle, typ: d.Item, count: d.Count, owner: killer.player,
			ownerUntil: s.tick + s.cfg.DropOwnerTicks, expireAt: s.tick + s.cfg.DropLifetimeTicks,
		})
	}
	if killer.alive() && res.XP > 0 {
		s.gainXP(killer, res.XP)
	}
}

// gainXP adds experience to player p and levels it up as often as it covers.
func (s *Scene) gainXP(p *entity, xp int64) {
	p.xp += xp
	for p.level < s.cfg.MaxLevel && p.xp >= s.cfg.LevelXP*int64(p.level) {
		p.xp -= s.cfg.LevelXP * int64(p.level)
		p.level++
		p.maxHP = s.playerMaxHP(p.level)
		p.hp = p.maxHP
		s.out.Events = append(s.out.Events, Event{Kind: EventLevelUp, Tick: s.tick, Player: p.player, Entity: p.id, Level: p.level})
	}
}

func (s *Scene) killPlayer(p, killer *entity) {
	p.state, p.moving = StateDead, false
	p.respawnAt = s.tick + s.cfg.PlayerRespawnTicks
	s.out.Events = append(s.out.Events, Event{Kind: EventPlayerDied, Tick: s.tick, Player: p.player, Entity: p.id, Type: killer.typ})
}

// timers removes corpses and stale drops, respawns players and monsters.
func (s *Scene) timers() {
	for _, e := range s.order {
		switch {
		case e.removed:
		case e.kind == KindMonster && e.state == StateDead && s.tick >= e.removeAt:
			s.remove(e)
			slot := &s.slots[e.spawn]
			slot.entity = 0
			slot.respawnAt = s.tick + s.cfg.Spawns[slot.point].RespawnTicks
			if s.cfg.Spawns[slot.point].RespawnTicks == 0 {
				slot.respawnAt = never
			}
		case e.kind == KindPlayer && e.state == StateDead && s.tick >= e.respawnAt:
			e.state, e.hp = StateIdle, e.maxHP
			e.pos = s.cfg.PlayerSpawn
			s.grid.moved(e)
		case e.kind == KindDrop && s.tick >= e.expireAt:
			s.remove(e)
		}
	}
	for i := range s.slots {
		if s.slots[i].entity == 0 && s.tick >= s.slots[i].respawnAt {
			s.spawnMonster(i)
		}
	}
}

// grantID names the grant of picking up drop d: unique per scene run when
// every run has its own seed.
func (s *Scene) grantID(d *entity) string {
	return "d" + strconv.FormatUint(s.cfg.Seed, 16) + "-" + strconv.FormatUint(uint64(d.id), 10)
}

// never is a tick that does not come.
const never = ^uint64(0)

// checkCleared sends EventCleared to every player once the last monster of a
// scene whose monsters never respawn is dead.
func (s *Scene) checkCleared() {
	if s.cleared || s.living > 0 || len(s.slots) == 0 {
		return
	}
	for _, sp := range s.cfg.Spawns {
		if sp.RespawnTicks != 0 {
			return
		}
	}
	s.cleared = true
	for _, e := range s.order {
		if e.kind == KindPlayer && !e.removed {
			s.out.Events = append(s.out.Events, Event{Kind: EventCleared, Tick: s.tick, Player: e.player, Entity: e.id, Type: s.cfg.ID})
		}
	}
}
