// Package achievement is the "achievement" function app: it consumes game
// events (topic "game.events", GameEvent: monster_killed, level_up,
// item_gained with item_id, dungeon_cleared from scene hosts; mail_sent from
// mail) at least once and applies each once per player, runs them through the Lua rules of scripts/achievement
// (on_event(event, progress) -> progress, unlocks, reached through the small
// Rules interface so that this package does not depend on the Lua runtime),
// keeps progress counters, tiers and unlocks, sends each unlock's reward by
// mail exactly once, and pushes "achievement.unlocked" to the player.
//
// Methods (app "achievement"):
//
//	list    Public  ListAchievementsRequest → ListAchievementsResponse (the caller's counters and unlocks)
//	record  service GameEvent               → RecordEventResponse      (apply one event synchronously)
//
// Subscription: topic "game.events", group "achievement", HandleEvent.
//
// # Key (owned by this app, JSON)
//
//	achievement/p/<player id>  {progress (the rules' table), seen (recent event ids, bounded),
//	                            unlocked [{id, title, at_ms, reward, pending}], gen}
//
// Everything about a player is in one key, changed by one ETag
// read-modify-write per event (bounded retries on CONFLICT): the event id is
// recorded in the same write as the progress it produced, so a redelivered
// event finds its id and changes nothing. Only the last Config.SeenEvents ids
// are kept: an event redelivered after that many newer events of the same
// player would count again.
//
// # Rewards exactly once
//
// An unlock is written with its reward pending, in the same write as the
// progress. Rewards name catalogue items only (gamedata; anything else is a
// rule error). Then the reward is sent with mail.send (as a service, as the
// template mail RewardTemplate of scripts/mail) with the request id
// RewardRequestID ("ach-<player>-<achievement id>"), which mail dedupes, and the pending flag is cleared in a second write. A crash or a
// store failure between the mail and the clearing leaves the reward pending;
// the next attempt (the next event of the player, a redelivery, or list)
// sends it again with the same request id and mail answers the same mail:
// never lost, never twice. While mail is down the reward stays pending.
//
// # Refusals and retries
//
// record refuses a malformed event with INVALID_ARGUMENT (event id, player,
// kind of [a-z0-9_], count and level in [0, 1e6], item_id of the catalogue
// when set) and changes nothing;
// HandleEvent logs and acknowledges such an event (redelivery cannot fix
// it). A rule error (Lua error, budget, malformed unlock) or a store failure
// writes nothing and returns an error: the event is redelivered. While the
// feature "achievement" is switched off (Deps.Features), HandleEvent returns
// FEATURE_DISABLED so that events stay queued; after Config.MaxAttempts
// deliveries (default 50, one second apart) they go to the dead-letter topic.
package achievement
