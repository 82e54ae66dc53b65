// Package player is the "player" function app: the owner of a player's
// record (profile and inventory) while the player is not held by a scene host.
//
// Methods (app "player"):
//
//	get         Public  GetPlayerRequest   → GetPlayerResponse   (the caller's record)
//	applyGrants service ApplyGrantsRequest → ApplyGrantsResponse
//	checkout    service CheckoutPlayerRequest → CheckoutPlayerResponse (scene hosts)
//	save        service SavePlayerRequest  → SavePlayerResponse  (scene hosts)
//	checkin     service SavePlayerRequest  → SavePlayerResponse  (scene hosts)
//
// Subscription: topic "player.grants" (GrantsPendingEvent), group "player":
// runs applyGrants for the event's player.
//
// Key (owned by this app, protobuf gamev1.PlayerRecord):
//
//	player/rec/<player id>
//
// # Applying grants
//
// Grants wait in their sender's outbox (mail.pendingGrants). applyGrants reads
// them, then in ONE ETag-guarded write of the record adds the items of every
// grant whose id is not in applied_grants and appends those ids; only then
// does it acknowledge them (mail.ackGrants) — newly applied and already
// applied ids alike. A crash or failure between the write and the ack is
// repaired by the next run: the grants are still pending, their ids are in
// applied_grants, so they are acknowledged again and applied nothing twice.
// applied_grants keeps the last Config.AppliedGrantsCap ids; a grant would be
// applied twice only if it stayed unacknowledged while that many later grants
// were applied.
//
// Counts are int64; a grant that would push a stack past Config.MaxStack (or
// carries a non-positive count) is refused as a whole, logged, and left
// pending rather than wrapped or clamped.
// # Scene hosts hold online players
//
// While a player is online, the scene host holding it owns its record in
// memory, and this app stays the only writer of the key. checkout gives the
// host a lease (PlayerLease in the record: holder, epoch, seq, until); every
// checkout grows the epoch, so a host that lost the lease (crashed, cut off,
// or replaced by a newer checkout) has its saves refused with
// PERMISSION_DENIED and can never overwrite a newer record. save writes the
// host-owned state (level, xp, inventory, applied grant ids) when its seq is
// newer than the last applied one (a retried or reordered save is answered
// already_done) and renews the lease; checkin saves and frees it.
//
// While the lease holds, this app applies no grant: a "player.grants" notice
// is forwarded to the holder's own topic (HostGrantsTopic), and the holder
// applies it idempotently by grant id. A lease that lapsed (its host died)
// is fenced (the epoch grows) before this app applies grants itself.
package player
