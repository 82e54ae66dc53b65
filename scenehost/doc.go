// Package scenehost runs scenes: one goroutine per scene ticking the
// deterministic core (package scene) at a fixed rate, a gRPC link per gate
// multiplexing that gate's players, the players' records held in memory
// while they are online, combat rules in Lua, and game events.
//
// # Lifecycle
//
// New builds a Host; Start listens for gate links and claims the static
// scenes in the scene directory; Stop detaches every player, flushes their
// records (checkin), releases the scenes and stops every goroutine.
//
// # Inputs
//
// Gates send LinkInputs: ATTACH (put a player into a scene), DETACH (its
// session ended) and REQUEST (scene.move, scene.cast, scene.pickup,
// scene.enter, scene.leave). Client inputs wait in their scene's bounded
// queue (per scene and per player): a flood is answered RATE_LIMITED at once,
// never buffered. The scene goroutine applies them as they arrive (at most
// every 2 ms, scene.Scene.Apply: what the next tick would do with them) and
// answers each at once, with the core's error if it refused it; what they
// cause comes with the next tick, whose SceneUpdates go to a gate in one
// LinkDown. player.get is answered here too while the host holds the player.
//
// # Records
//
// A player entering takes its record's lease from the player app
// (player.checkout, epoch-fenced), applies its pending grants, and joins.
// Changes (experience, levels, pickups, grants) are kept in memory and saved
// write-behind: at most every flush interval (live setting
// scene.flush_interval_s, 30 s), at once on logout, scene change and grant
// application (trade-like: the grant's sender is acknowledged only once the
// record holding it is saved). A save that fails stays pending and is
// retried (the pending count is a metric); the number of players held,
// online or waiting for their last save, is bounded. A host killed with kill
// -9 loses at most the last flush window; its players' leases lapse or are
// taken over by the next host.
//
// # Dungeons and several hosts
//
// Static scenes (the city) are claimed in a scene directory with a lease the
// host renews; a host that stops renewing loses them to another host, which
// is how the city survives its host. scene.enter creates a dungeon instance
// on the least-loaded host of the roster (maybe this one): the player leaves
// its scene, its record is checked in, and the gate is told to attach it to
// that host (TRANSFER) without dropping the client connection. An instance
// closes once empty.
//
// # Switches
//
// Feature "scene" off: requests are refused with FEATURE_DISABLED and the
// scenes pause (players stay attached). "dungeon" off: no new instance
// entries. "pvp" off: casts on players are refused with FEATURE_DISABLED.
package scenehost
