// Package directory is the shared view of who is online where: which gate and
// session hold each player, single-use markers (login tickets, idempotency
// keys), a Pusher that routes a push to the player's current gate, and a
// Kicker that closes a player's session on whichever gate holds it.
//
// Pushes and control messages share each gate's push topic (PushTopic): a
// gamev1.PushEnvelope whose route starts with "gate." (KickRoute) is for the
// gate itself and never reaches a client.
//
// Memory is the in-process twin used in embedded mode; a go-redis directory
// shares the same view between several gates in Dapr mode.
package directory
