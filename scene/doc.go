// Package scene is the deterministic core of a realtime scene, in the style
// of etcd raft's core: no I/O, no goroutines, no clock. A scene host feeds it
// inputs tick by tick and ships what it returns:
//
//	out := s.Step(tick, inputs) // joins, leaves, moves, casts, pickups
//	// out.Updates: one SceneUpdate per player whose view changed
//	// out.Events, out.Grants, out.Errors, out.Left
//
// The same Config (with its Seed) and the same Steps give the same Outputs,
// byte for byte: positions are integer millimetres (Fixed), randomness comes
// from a seeded PRNG inside the scene, and everything is walked in entity-id
// order, never in map order.
//
// Players move toward the target a client asks, at most their speed × dt per
// tick, so a client cannot teleport; a target farther than MaxMoveDistance,
// outside the map or not a finite number is refused. Monsters run a small
// state machine (idle, wander, aggro, chase, attack, leash, dead) and respawn
// from the Config's spawn table. Casts check cooldowns and range; all of a
// tick's combat goes to the Rules in one batch (DefaultRules in Go, Lua in a
// scene host), which decide damage, drops and experience. Dead monsters leave
// drops that players pick up as Grants; dead players respawn at the spawn
// point.
//
// Who sees what (AOI) is a nine-grid in open scenes: square cells as large as
// the view range, an observer sees its cell and its 8 neighbours filtered by
// distance. Small instances (ModeFull) send everything to everyone. Each
// player's update holds enters (full state), leaves (ids) and deltas of the
// fields that changed against what that player last received, positions in
// quanta; a tick with nothing new for a player sends it nothing.
//
// Client inputs may also be applied between Steps (Apply), exactly as the
// next Step would apply them, so a host can answer them without waiting for
// the tick; what they produce comes in the next Step's Output.
//
// Every refused input gets an InputError with a code from the gamemesh
// catalogue and changes nothing; a player's client inputs beyond
// MaxInputsPerPlayer in one tick are dropped with RATE_LIMITED and counted.
package scene
