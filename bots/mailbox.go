package bots

import (
	"context"
	"slices"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// RouteMailClaimAll claims every attachment of the mailbox at once.
const RouteMailClaimAll = "mail.claimAll"

// claimAttachments claims the unclaimed attachments of mails, as listed:
// bots with an odd index take them all with one mail.claimAll, the others
// claim mail by mail, so that a run exercises both. It reports whether
// anything was claimed.
func (b *bot) claimAttachments(ctx context.Context, mails []*gamev1.Mail) bool {
	var unclaimed []string
	for _, m := range mails {
		if !m.GetClaimed() && len(m.GetAttachments()) > 0 {
			unclaimed = append(unclaimed, m.GetId())
		}
	}
	if len(unclaimed) == 0 {
		return false
	}
	if b.index%2 == 1 {
		var out gamev1.ClaimAllMailResponse
		return b.call(ctx, RouteMailClaimAll, &gamev1.ClaimAllMailRequest{}, &out) == nil && len(out.GetMailIds()) > 0
	}
	claimed := false
	for _, id := range unclaimed {
		if b.call(ctx, RouteMailClaim, &gamev1.ClaimMailRequest{MailId: id}, &gamev1.ClaimMailResponse{}) == nil {
			claimed = true
		}
	}
	return claimed
}

// readServerMail reads the server-wide mails (broadcasts) of the page that
// the player has not read yet, as a player opening the operators' news does.
func (b *bot) readServerMail(ctx context.Context, mails []*gamev1.Mail) {
	for _, m := range mails {
		if m.GetBroadcastId() == "" || m.GetRead() || m.GetClaimed() {
			continue
		}
		if b.call(ctx, RouteMailRead, &gamev1.ReadMailRequest{MailId: m.GetId()}, &gamev1.ReadMailResponse{}) == nil {
			b.rec.serverMailRead.Add(1)
		}
	}
}

// mailQuotaCodes are the answers of mail.send when the sender's quota (per
// minute, per day, per recipient) or the recipient's box is full: the game
// refusing a spammy bot, not a failure. They are counted in Report.MailQuota.
var mailQuotaCodes = []gamemesh.Code{gamemesh.CodeRateLimited, gamemesh.CodeLimitReached}

// countQuota counts a send refused by a mail quota.
func (b *bot) countQuota(err error) {
	if err != nil && slices.Contains(mailQuotaCodes, gamemesh.CodeOf(err)) {
		b.rec.mailQuota.Add(1)
	}
}
