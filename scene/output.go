package scene

import (
	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// Output is everything one Step produced. Slices are in a deterministic order:
// Updates by entity id, Events and Grants as they happened, Errors by input.
type Output struct {
	Tick uint64
	// Updates holds one message per player whose view changed.
	Updates []Update
	// Events are game events for achievements and logs.
	Events []Event
	// Grants are items players picked up, to add to their inventories.
	Grants []Grant
	// Errors refuses inputs, one per refused input.
	Errors []InputError
	// Left holds the last state of players that left this tick.
	Left []EntityView
	// Dropped counts client inputs beyond MaxInputsPerPlayer (also in Errors).
	Dropped int
	// RulesErr is set when the Rules failed; the tick's combat did no damage.
	RulesErr error
}

// Update is a SceneUpdate for one player. Updates of one tick share the
// EntityState and EntityDelta messages of an entity that several players
// were sent alike: treat them as read-only (marshal them, do not edit them).
type Update struct {
	Player gamemesh.PlayerID
	Entity EntityID
	Msg    *gamev1.SceneUpdate
}

// InputError refuses one input; the scene state is as if it never came.
type InputError struct {
	// Index is the input's position in the Step's inputs.
	Index  int
	Kind   InputKind
	Player gamemesh.PlayerID
	Seq    uint64
	Err    *gamemesh.Error
}

// EventKind says what happened.
type EventKind uint8

// The game events.
const (
	// EventMonsterKilled: Player killed the monster Entity of kind Type at Level.
	EventMonsterKilled EventKind = iota + 1
	// EventPlayerDied: Player was killed by a monster of kind Type.
	EventPlayerDied
	// EventItemGained: Player picked up Count of item Type.
	EventItemGained
	// EventLevelUp: Player reached Level.
	EventLevelUp
	// EventCleared: the last monster of a scene whose monsters never respawn
	// died (a dungeon cleared); one event per player in the scene, Type is the scene id.
	EventCleared
)

// String names the kind.
func (k EventKind) String() string {
	switch k {
	case EventMonsterKilled:
		return "monster-killed"
	case EventPlayerDied:
		return "player-died"
	case EventItemGained:
		return "item-gained"
	case EventLevelUp:
		return "level-up"
	case EventCleared:
		return "cleared"
	}
	return "unknown"
}

// Event is a game event.
type Event struct {
	Kind   EventKind
	Tick   uint64
	Player gamemesh.PlayerID
	Entity EntityID
	Type   string
	Level  int32
	Count  int64
}

// Grant is an item stack a player picked up. ID is unique per scene run as
// long as every run of a scene has its own Seed, so that the inventory owner
// applies it once.
type Grant struct {
	ID     string
	Player gamemesh.PlayerID
	Item   string
	Count  int64
}
