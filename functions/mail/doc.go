// Package mail is the "mail" function app: personal mail with attachments,
// pages, read flags, expiry, and exactly-once claiming of attachments.
//
// Methods (app "mail"):
//
//	send          Public  SendMailRequest       → SendMailResponse
//	list          Public  ListMailRequest       → ListMailResponse
//	read          Public  ReadMailRequest       → ReadMailResponse
//	claim         Public  ClaimMailRequest      → ClaimMailResponse
//	pendingGrants service PendingGrantsRequest  → PendingGrantsResponse
//	ackGrants     service AckGrantsRequest      → AckGrantsResponse
//
// # Storage
//
// One key per player, mail/box/<player>, holds a JSON document (see box.go):
// the player's mails, the grants waiting for the inventory owner, and the
// recent (sender, request_id) pairs of mails sent to the box. Everything that
// must change together lives in that one key and every write is an ETag
// read-modify-write with bounded retries: a CONFLICT is never an answer, the
// box is re-read and the decision is taken again.
//
// # Sending
//
// A player sends as itself (req.Player) and may not attach items (that would
// create items from nothing); services (req.Player empty) send as "system"
// and may attach items. A send is idempotent by (sender, request_id): the
// pair is recorded in the recipient's box in the same write as the mail, and
// the mail id is derived from (recipient, sender, request_id), so a retry that
// lands after the first write — even one whose answer was lost — finds the
// pair (or the mail) and returns the same mail id without sending twice.
// Reusing a request id for a different mail is INVALID_ARGUMENT.
//
// Mailbox full rule: a box holds at most Config.MailboxCap mails. When a new
// mail arrives in a full box, the oldest mails that have no unclaimed
// attachments (no attachments, or already claimed) are deleted to make room,
// read or not. If every mail in the box still has unclaimed attachments, the
// send is refused with LIMIT_REACHED ("mailbox full") and nothing changes.
//
// # Expiry
//
// A mail expires Config.DefaultExpiry after it is sent. Expired mails are not
// listed or counted; reading or claiming one is EXPIRED. Any write to a box
// drops its expired mails (there is no background sweeper). Grants already
// claimed are not affected by expiry.
//
// # Claiming
//
// claim sets the mail's claimed marker and appends a pending Grant (id
// "mail-<mail id>", source "mail") to the box in one ETag-guarded write, then
// publishes a GrantsPendingEvent on topic "player.grants" with the grant id as
// event id. The inventory owner reads pendingGrants, applies each grant once
// by id, and acknowledges them with ackGrants, which removes them. A claim
// retried with the same request id (gamemesh.Request.ID) after it took effect
// answers the same success again; any other claim of a claimed mail is
// ALREADY_DONE.
package mail
