package scene

import (
	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// EntityID names an entity within one scene. Ids grow from 1 and are never
// reused by the scene.
type EntityID uint32

// Kind is what an entity is.
type Kind uint8

// The entity kinds.
const (
	KindPlayer  Kind = Kind(gamev1.EntityKind_ENTITY_KIND_PLAYER)
	KindMonster Kind = Kind(gamev1.EntityKind_ENTITY_KIND_MONSTER)
	KindDrop    Kind = Kind(gamev1.EntityKind_ENTITY_KIND_DROP)
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case KindPlayer:
		return "player"
	case KindMonster:
		return "monster"
	case KindDrop:
		return "drop"
	}
	return "unknown"
}

// State is what an entity is doing; monsters run a state machine over it.
type State uint8

// The states, numbered as gamev1.EntityStatus.
const (
	StateIdle   State = State(gamev1.EntityStatus_ENTITY_STATUS_IDLE)
	StateMoving State = State(gamev1.EntityStatus_ENTITY_STATUS_MOVING)
	StateAggro  State = State(gamev1.EntityStatus_ENTITY_STATUS_AGGRO)
	StateChase  State = State(gamev1.EntityStatus_ENTITY_STATUS_CHASE)
	StateAttack State = State(gamev1.EntityStatus_ENTITY_STATUS_ATTACK)
	StateLeash  State = State(gamev1.EntityStatus_ENTITY_STATUS_LEASH)
	StateDead   State = State(gamev1.EntityStatus_ENTITY_STATUS_DEAD)
)

// String names the state.
func (s State) String() string {
	switch s {
	case StateIdle:
		return "idle"
	case StateMoving:
		return "moving"
	case StateAggro:
		return "aggro"
	case StateChase:
		return "chase"
	case StateAttack:
		return "attack"
	case StateLeash:
		return "leash"
	case StateDead:
		return "dead"
	}
	return "unknown"
}

// EntityView is a read-only copy of an entity's state.
type EntityView struct {
	ID     EntityID
	Kind   Kind
	Pos    Pos
	Facing uint8
	HP     int32
	MaxHP  int32
	Level  int32
	State  State
	// Type is the monster kind or the item id of a drop.
	Type string
	// Player is set for players.
	Player gamemesh.PlayerID
	// XP is a player's experience.
	XP int64
	// Count is a drop's stack size.
	Count int32
	// Target is the entity a monster chases or attacks (0: none).
	Target EntityID
}

// entity is one thing in the scene. Fields used by one kind only are grouped.
type entity struct {
	// Read by every observer's view diff each tick: kept first and together
	// so that a diff touches few cache lines per entity.
	//
	// mark and markIdx are scratch space of the view diff (see Scene.diff).
	mark    uint64
	markIdx int32
	// snap is the synced state, computed once per tick before the views.
	snap synced
	// the delta of this tick shared by observers (see Scene.deltaOf)
	deltaTick uint64
	deltaMsg  *gamev1.EntityDelta
	deltaFrom synced

	id     EntityID
	kind   Kind
	pos    Pos
	facing uint8
	hp     int32
	maxHP  int32
	level  int32
	state  State
	typ    string
	// removed marks an entity taken out this tick; it is dropped from the
	// id order at the end of the tick.
	removed bool
	// cell and slot place the entity in the grid.
	cell, slot int32
	// the full state of this tick shared by observers (see Scene.stateOf)
	stateTick uint64
	stateMsg  *gamev1.EntityState

	// players
	player     gamemesh.PlayerID
	xp         int64
	intent     Pos
	moving     bool
	clientTick uint64
	respawnAt  uint64
	cooldowns  []cooldown
	obs        *observer

	// monsters
	kindIdx   int
	spawn     int // index of its spawn slot
	home      Pos
	target    EntityID
	idleUntil uint64
	removeAt  uint64 // corpse removal tick

	// drops
	count      int32
	owner      gamemesh.PlayerID
	ownerUntil uint64
	expireAt   uint64
}

// cooldown says when a skill is ready again for an entity.
type cooldown struct {
	skill   SkillID
	readyAt uint64
}

// ready reports whether skill is off cooldown at tick.
func (e *entity) ready(skill SkillID, tick uint64) bool {
	for _, c := range e.cooldowns {
		if c.skill == skill {
			return tick >= c.readyAt
		}
	}
	return true
}

// startCooldown puts skill on cooldown until tick+n.
func (e *entity) startCooldown(skill SkillID, tick, n uint64) {
	for i := range e.cooldowns {
		if e.cooldowns[i].skill == skill {
			e.cooldowns[i].readyAt = tick + n
			return
		}
	}
	e.cooldowns = append(e.cooldowns, cooldown{skill: skill, readyAt: tick + n})
}

func (e *entity) alive() bool { return e.state != StateDead && !e.removed }

func (e *entity) view() EntityView {
	return EntityView{
		ID: e.id, Kind: e.kind, Pos: e.pos, Facing: e.facing, HP: e.hp, MaxHP: e.maxHP, Level: e.level,
		State: e.state, Type: e.typ, Player: e.player, XP: e.xp, Count: e.count, Target: e.target,
	}
}

func (e *entity) combatant() Combatant {
	return Combatant{ID: e.id, Kind: e.kind, Type: e.typ, Player: e.player, Level: e.level, HP: e.hp, MaxHP: e.maxHP}
}
