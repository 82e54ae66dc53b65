package scene

import "github.com/gamemesh/gamemesh"

// InputKind says what an Input asks.
type InputKind uint8

// The input kinds. Join, Leave and Resync come from the scene host; Move, Cast
// and Pickup come from clients and count against MaxInputsPerPlayer.
const (
	InputJoin InputKind = iota + 1
	InputLeave
	InputResync
	InputMove
	InputCast
	InputPickup
)

// String names the kind.
func (k InputKind) String() string {
	switch k {
	case InputJoin:
		return "join"
	case InputLeave:
		return "leave"
	case InputResync:
		return "resync"
	case InputMove:
		return "move"
	case InputCast:
		return "cast"
	case InputPickup:
		return "pickup"
	}
	return "unknown"
}

func (k InputKind) fromClient() bool { return k >= InputMove }

// Input is one thing a scene is asked to do in a tick. Fields not used by
// its Kind are ignored.
type Input struct {
	Kind   InputKind
	Player gamemesh.PlayerID
	// Seq is the caller's number for the input (the client's request seq);
	// it is copied into the InputError that refuses it.
	Seq uint64
	// X and Y are metres, as clients send them: the join or move target.
	X, Y float32
	// AtSpawn joins at Config.PlayerSpawn instead of X, Y.
	AtSpawn bool
	// Level and XP of a joining player (level 0 means 1).
	Level int32
	XP    int64
	// ClientTick numbers a client's moves (0: not numbered).
	ClientTick uint64
	// Skill and Target of a cast; Target is also the drop to pick up.
	Skill  SkillID
	Target EntityID
}

// Join places a player at (x, y) metres.
func Join(p gamemesh.PlayerID, x, y float32, level int32, xp int64) Input {
	return Input{Kind: InputJoin, Player: p, X: x, Y: y, Level: level, XP: xp}
}

// JoinAtSpawn places a player at the scene's spawn point.
func JoinAtSpawn(p gamemesh.PlayerID, level int32, xp int64) Input {
	return Input{Kind: InputJoin, Player: p, AtSpawn: true, Level: level, XP: xp}
}

// Leave takes a player out; its last state is in Output.Left.
func Leave(p gamemesh.PlayerID) Input { return Input{Kind: InputLeave, Player: p} }

// Resync makes the next update to p a full snapshot (after a reconnect).
func Resync(p gamemesh.PlayerID) Input { return Input{Kind: InputResync, Player: p} }

// Move asks to walk p toward (x, y) metres.
func Move(p gamemesh.PlayerID, x, y float32, clientTick uint64) Input {
	return Input{Kind: InputMove, Player: p, X: x, Y: y, ClientTick: clientTick}
}

// Cast asks p to cast skill on target.
func Cast(p gamemesh.PlayerID, skill SkillID, target EntityID) Input {
	return Input{Kind: InputCast, Player: p, Skill: skill, Target: target}
}

// Pickup asks p to pick up the drop entity.
func Pickup(p gamemesh.PlayerID, drop EntityID) Input {
	return Input{Kind: InputPickup, Player: p, Target: drop}
}
