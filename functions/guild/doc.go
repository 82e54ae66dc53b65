// Package guild is the "guild" function app: guilds with a unique name,
// applications, invitations, roles, a member cap, a notice and disbanding —
// with its invariants holding under concurrent requests, retries and crashes:
//
//   - a guild never has more members than its cap;
//   - a player is never a member of two guilds;
//   - an active guild has exactly one leader;
//   - a disbanded guild accepts nothing (no join, no application, no change).
//
// Methods (app "guild"; every public method acts as req.Player):
//
//	create        Public  CreateGuildRequest      → GuildResponse
//	apply         Public  GuildRequest            → GuildResponse  (joins at once when the guild is open)
//	accept        Public  GuildRequest            → GuildResponse  (accept an invitation)
//	leave         Public  GuildRequest            → GuildResponse
//	disband       Public  GuildRequest            → GuildResponse
//	info          Public  GuildRequest            → GuildResponse  (empty guild_id: the caller's guild)
//	applications  Public  GuildRequest            → GuildApplicationsResponse
//	approve       Public  GuildTargetRequest      → GuildResponse
//	reject        Public  GuildTargetRequest      → GuildResponse
//	invite        Public  GuildTargetRequest      → GuildResponse
//	kick          Public  GuildTargetRequest      → GuildResponse
//	promote       Public  GuildTargetRequest      → GuildResponse  (member → officer)
//	demote        Public  GuildTargetRequest      → GuildResponse  (officer → member)
//	transfer      Public  GuildTargetRequest      → GuildResponse  (leader → target; old leader becomes officer)
//	notice        Public  GuildNoticeRequest      → GuildResponse
//	setOpen       Public  GuildOpenRequest        → GuildResponse
//	members       Public  ListGuildMembersRequest → ListGuildMembersResponse (paged by player id)
//	settle        service SettleGuildRequest      → SettleGuildResponse (repair a player's claim, report its guild)
//
// Pushes (best effort, through Deps.Pusher): GuildPush on route "guild.event"
// to the invited player, the approved applicant, the kicked member and the
// members of a disbanded guild.
//
// # Who may do what
//
//	action                              leader  officer  member  not a member
//	info, members                       yes     yes      yes     yes
//	applications, approve, reject       yes     yes      -       -
//	invite, notice                      yes     yes      -       -
//	kick a member                       yes     yes      -       -
//	kick an officer                     yes     -        -       -
//	promote, demote, transfer, setOpen  yes     -        -       -
//	disband                             yes     -        -       -
//	leave                               - (1)   yes      yes     -
//	create, apply, accept               - (2)   - (2)    - (2)   yes
//
// (1) the leader transfers leadership or disbands. (2) a player in a guild
// cannot create, apply or accept (CONFLICT "player is already in a guild").
// A caller not in the guild gets PERMISSION_DENIED "not a member of this
// guild"; a caller without the role gets PERMISSION_DENIED naming who may.
//
// # Keys (owned by this app, JSON values, see records.go)
//
//	guild/g/<guild id>           the guild record: name, state, leader, cap, open, notice, members with
//	                             roles, join reservations, applications, invitations, a request log
//	guild/member/<player id>     the player's membership claim: {guild, token, create, at}
//	guild/name/<hash of folded>  the name reservation: {guild, folded name, at}
//
// Guild ids are "g" + 20 hex characters derived from (creator, request id).
// The name key holds the first 128 bits of SHA-256 of the folded name, so any
// Unicode name fits a key. Folding is NFKC, case folding, NFKC: names that
// differ only in case or width ("Dragons", "DRAGONS", "ＤＲＡＧＯＮＳ") are one
// name. A name is 2 to 16 characters with no control, format, private-use or
// separator characters and no leading or trailing space (INVALID_ARGUMENT);
// a taken name is CONFLICT "guild name is taken".
//
// # The protocol
//
// Store transactions across keys do not roll back, so nothing relies on two
// keys changing together. The guild record is the single source of truth for
// who is a member and with what role; every change to it is one ETag
// read-modify-write (bounded retries on CONFLICT, a CONFLICT re-read and
// decided again, never taken as an answer), and every write checks the
// invariants of the record first (cap, exactly one leader who is a member,
// a dead guild lists no one) and refuses a write that would break them.
//
// The membership claim is the lock that makes "one guild per player" hold:
// it is created create-only, so at most one exists per player, and a player
// is added to a guild record only by the holder of a claim naming that guild.
// A claim is only ever removed (by its ETag) after the guild record it names
// shows that it does not hold and never will: the player is not a member and
// the record has no reservation with the claim's token (reservations, once
// removed, never return with the same token). So while a player is a member
// of guild G, its claim names G, and it cannot be a member of two guilds.
//
// Joining (approve, accept, apply on an open guild) is three writes:
//
//  1. reserve: in the guild record, check the right to join (actor's role,
//     application, invitation or open flag) and that members + live
//     reservations < cap, and record a reservation {token, at} for the
//     player. An existing reservation for the player is reused, so
//     concurrent approvals drive one join.
//  2. claim: create guild/member/<player> = {guild, token}, create-only. If
//     a claim exists, it is settled (below). If the player is in another
//     guild, the reservation is released together with the application and
//     invitation, which can no longer be honoured, and the join fails with
//     CONFLICT "player is already in a guild"; if it is creating one, the
//     reservation is released and the join fails with CONFLICT (retry); if
//     the claim was stale it is removed and the create tried again.
//  3. commit: in the guild record, if the reservation with that token is
//     still there and the guild is active and not full, turn it into a
//     membership (and drop the application and invitation). Otherwise the
//     join failed (disbanded: NOT_FOUND; cancelled: CONFLICT; full:
//     LIMIT_REACHED) and the joiner deletes its claim.
//
// The cap holds because only step 3 adds members and it checks the member
// count in the record it writes; the reservations of step 1 only keep
// admission honest (so commits do not fail for lack of room). A reservation
// older than ReserveTTL stops counting and is dropped by the next write of
// the record — always by a write, so that a commit that read it fails its
// ETag check and re-decides.
//
// Creating is three create-only writes: the claim {guild, token, create},
// the name key, then the guild record with the creator as leader. The record
// is the commit point. A taken name releases the claim at once; a store
// failure leaves the claim and the name key to the repairs below.
//
// # Crashes and repair (settle)
//
// A crash can stop a join or a creation between any two writes. settle(p),
// run by info with an empty guild id, by apply, invite, every claim attempt
// and the service method guild.settle, makes a player's claim agree with the
// guild record it names:
//
//   - the record lists p: the claim holds;
//   - the record holds p's reservation with the claim's token (a crash
//     between claim and commit): settle commits it — p becomes a consistent
//     member — or learns that it was cancelled (full, disbanded) and removes
//     the claim;
//   - the claim was made by a creation and the record does not exist: within
//     PendingGrace the creation is taken to be in progress (CONFLICT, retry);
//     after it, settle writes an "aborted" tombstone record create-only — so
//     a late creator's own create-only write of the record fails — and
//     removes the claim;
//   - anything else (not listed, guild disbanded or gone): the claim is stale
//     and is removed, guarded by its ETag.
//
// The other crash points need no reader: a reservation without a claim (crash
// between 1 and 2) stops counting after ReserveTTL; a member removed by
// leave, kick or disband whose claim was not yet deleted (the record is
// written first) holds a stale claim that settle removes; a name key whose
// guild record never came (or is dead) is taken over by the next create of
// that name — after PendingGrace, and after an aborted tombstone for a record
// that never came; disband releases the claims of its former members and
// reservations, listed in the tombstone, and a retry of disband does it
// again.
//
// # Idempotency under retries
//
// Dapr retries invocations, so every mutating method may run twice:
//
//   - naturally idempotent (the retry finds the target state and answers
//     the same): apply, accept, approve (already a member: success), reject
//     (no application: success), invite (already invited or member:
//     success), promote, demote (already in the role: success), notice,
//     setOpen;
//   - create: the guild id is derived from (creator, request id), so the
//     retry finds the guild its first attempt made and answers it;
//   - by request id, kept in the guild record's request log (last 64, one
//     hour): leave, kick, transfer, disband — whose retry would otherwise
//     see "not a member" or "not the leader". The tombstone of a disbanded
//     guild keeps the log.
package guild
