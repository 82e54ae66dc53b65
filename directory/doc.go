// Package directory is the shared view of who is online where: which gate and
// session hold each player, single-use markers (login tickets, idempotency
// keys), and a Pusher that routes a push to the player's current gate.
//
// Memory is the in-process twin used in embedded mode; a go-redis directory
// shares the same view between several gates in Dapr mode.
package directory
