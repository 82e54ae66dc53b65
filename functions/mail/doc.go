// Package mail is the "mail" function app: personal mail and server-wide
// mail with attachments, pages, read flags, expiry with a sweep, per-sender
// quotas, template mails rendered in Lua, exactly-once claiming (one mail or
// all of them), and item grants without a mail.
//
// Methods (app "mail"):
//
//	send          Public  SendMailRequest       → SendMailResponse
//	list          Public  ListMailRequest       → ListMailResponse
//	read          Public  ReadMailRequest       → ReadMailResponse
//	claim         Public  ClaimMailRequest      → ClaimMailResponse
//	claimAll      Public  ClaimAllMailRequest   → ClaimAllMailResponse
//	broadcast     service BroadcastMailRequest  → BroadcastMailResponse
//	grant         service GrantItemsRequest     → GrantItemsResponse
//	pendingGrants service PendingGrantsRequest  → PendingGrantsResponse
//	ackGrants     service AckGrantsRequest      → AckGrantsResponse
//
// # Storage
//
// One key per player, mail/box/<player>, holds a JSON document (see box.go):
// the player's mails, the grants waiting for the inventory owner (the
// outbox), the recent (sender, request_id) pairs of mails sent to the box,
// the recent grant request ids, and the box's marks of server-wide mails.
// Everything that must change together lives in that one key and every write
// is an ETag read-modify-write with bounded retries: a CONFLICT is never an
// answer, the box is re-read and the decision is taken again. Other keys:
//
//	mail/bcast/<id>            a server-wide mail, stored once (create-only, TTL past its expiry)
//	mail/bcast-index           the live server-wide mails (at most Config.MaxLiveBroadcasts)
//	mail/quota/<sender>        a player sender's counts this UTC minute and day (TTL 48 h)
//	mail/expiry/<day>/<shard>  the boxes holding mail that expires on that UTC day
//	mail/expiry/cursor         the first day the sweep has not done
//
// # Sending
//
// A player sends as itself (req.Player) and may not attach items (that would
// create items from nothing) nor use templates; services (req.Player empty)
// send as "system" and may do both. A send is idempotent by (sender,
// request_id): the pair is recorded in the recipient's box in the same write
// as the mail, and the mail id is derived from (recipient, sender,
// request_id), so a retry that lands after the first write — even one whose
// answer was lost — finds the pair (or the mail) and returns the same mail
// id without sending twice. Reusing a request id for a different mail is
// INVALID_ARGUMENT. Every attachment (and every granted item) is checked
// against the item catalogue (gamedata): unknown ids and counts outside 1 to
// the item's stack cap (and Config.MaxCount) are INVALID_ARGUMENT, nothing
// changed.
//
// Per-sender quotas (player senders only, counted in mail/quota/<sender>
// before the mail is written): at most Config.SendsPerMinute sends in a UTC
// minute (beyond: RATE_LIMITED "sending mail too fast"), Config.SendsPerDay
// in a UTC day (LIMIT_REACHED "daily mail limit reached") and
// Config.SendsPerRecipientDaily to one recipient in a UTC day (LIMIT_REACHED
// "daily limit of mails to this player reached"). A retried request id is
// counted once; a late retry of a send that went out answers its mail id
// even when the quota is spent. A send refused later (mailbox full) still
// counts. So one player can take at most SendsPerRecipientDaily of a box's
// slots a day and cannot push the box's memory of sends (1 000 pairs) out.
//
// Mailbox full rule: a box holds at most Config.MailboxCap mails, server-wide
// mails delivered to it included. When a new mail arrives in a full box, the
// oldest mails that have no unclaimed attachments (no attachments, or already
// claimed) are deleted to make room, read or not. If every mail in the box
// still has unclaimed attachments, a personal send is refused with
// LIMIT_REACHED ("mailbox full") and nothing changes; a server-wide mail
// waits (it is delivered by a later read once there is room, until it
// expires).
//
// # Server-wide mail
//
// broadcast stores the mail once (record + an entry in the index); nothing
// is written per player. A player's box receives it when the player next
// reads (list, read, claim, claimAll): the read compares the box's marks
// with the live broadcasts and delivers the missing ones in the same
// ETag-guarded write, with the broadcast id as mail id — so two devices
// reading at once deliver it once. Audience: level range and registration
// time, read from player.profile; a player registered after the bound is
// marked for good, a level out of range is checked again after
// Config.AudienceRecheck (a player who levels into the range while the mail
// is live gets it). A broadcast is idempotent by request_id (its id derives
// from it); it expires at expires_at_ms (default Config.DefaultExpiry, at
// most Config.MaxExpiry) for everyone, delivered or not. Processes cache the
// index for Config.IndexCacheTTL.
//
// # Templates
//
// A service may send (or broadcast) a template id and params instead of a
// subject and body; the Lua module scripts/mail renders them through the
// Templates port, once, at send time, and the text is stored. A template
// that refuses (unknown, missing or unknown param) is INVALID_ARGUMENT.
// While Lua is unavailable (or its output breaks the text limits) the mail is
// still delivered, attachments and all, with FallbackSubject/FallbackBody,
// and keeps its template: list and read render it again and show the text as
// soon as Lua answers. Degraded, nothing lost.
//
// # Expiry and the sweep
//
// Expired mails are never listed, counted, read or claimed (EXPIRED), swept
// or not; any write to a box drops its expired mails. Because the Store
// cannot list keys, a box is added to the bucket of the UTC day its new mail
// expires on (mail/expiry/<day>/<shard>) before the mail is written; the
// Sweeper (an owned, stoppable job; internal/system runs one per process
// serving mail) visits the boxes of each day once the day and a grace period
// are over, deletes their expired mail, deletes the bucket and moves the
// cursor on, and drops expired broadcasts from the index. Grants already
// claimed are not affected by expiry.
//
// # Claiming
//
// claim sets the mail's claimed marker and appends a pending Grant (id
// "mail-<mail id>", source "mail") to the box in one ETag-guarded write, then
// publishes a GrantsPendingEvent on topic "player.grants" with the grant id as
// event id. claimAll does the same for every live mail with unclaimed
// attachments, in one write. The inventory owner reads pendingGrants, applies
// each grant once by id, and acknowledges them with ackGrants, which removes
// them. A claim (or claimAll) retried with the same request id
// (gamemesh.Request.ID) after it took effect answers the same success again;
// any other claim of a claimed mail is ALREADY_DONE. A box holds at most
// Config.MaxPendingGrants unapplied grants: beyond, claims wait
// (LIMIT_REACHED, retry shortly).
//
// grant queues items for a player without a mail, in the same outbox, with
// the caller's source recorded; it is idempotent by request_id (remembered
// in the box for RequestIDWindow, grant id derived from it).
package mail
