package scene

import "github.com/gamemesh/gamemesh"

// Rules resolves a tick's combat. The scene calls it once per tick with every
// combat event of that tick, in order, so that an implementation running on
// another thread (Lua on a locked worker) is crossed once per tick.
//
// Each event carries the defender's HP at the start of the tick. An
// implementation must apply the events in order against that HP: the event
// that takes a defender to 0 is the killing one, and its result carries the
// drops and experience of the kill. The scene applies the damage itself
// (negative damage counts as 0) and decides deaths the same way. Randomness
// must come from batch.Seed only, so that a scene replays identically. A
// Rules that fails, or answers with the wrong number of results, resolves the
// tick with no damage and the error lands in Output.RulesErr.
type Rules interface {
	ResolveCombat(batch CombatBatch) ([]CombatResult, error)
}

// Combatant is an attacker's or a defender's state as the rules see it.
type Combatant struct {
	ID   EntityID
	Kind Kind
	// Type is the monster kind ("" for players).
	Type   string
	Player gamemesh.PlayerID
	Level  int32
	HP     int32
	MaxHP  int32
}

// CombatEvent is one cast of a skill by an attacker on a defender.
type CombatEvent struct {
	Attacker Combatant
	Defender Combatant
	Skill    Skill
}

// CombatBatch is one tick's combat.
type CombatBatch struct {
	Scene string
	Tick  uint64
	// Seed is drawn from the scene's PRNG for this batch.
	Seed   uint64
	Events []CombatEvent
}

// Drop is a stack of items a dead monster leaves on the ground.
type Drop struct {
	Item  string
	Count int32
}

// CombatResult is the outcome of one CombatEvent.
type CombatResult struct {
	Damage   int32
	Critical bool
	// Drops and XP are read from the event that kills a monster.
	Drops []Drop
	XP    int64
}
