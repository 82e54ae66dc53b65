package mail

import (
	"context"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// GrantSource is the Grant.Source of grants made by claiming mail.
const GrantSource = "mail"

// grantIDFor is the deterministic grant id of a mail's attachments.
func grantIDFor(mailID string) string { return "mail-" + mailID }

// claim moves a mail's attachments into a pending grant: the claimed marker
// and the grant are one ETag-guarded write of the box, so the claim takes
// effect exactly once however many claims race or retry.
func (a *App) claim(ctx context.Context, req gamemesh.Request, in *gamev1.ClaimMailRequest) (*gamev1.ClaimMailResponse, error) {
	player, err := functions.Caller(req)
	if err != nil {
		return nil, err
	}
	if !gamemesh.ValidKeyPart(in.GetMailId()) {
		return nil, gamemesh.Errorf(gamemesh.CodeNotFound, "no such mail")
	}
	var claimed *mailRec
	_, err = a.change(ctx, player, func(b *box) (bool, error) {
		claimed = nil
		m, err := a.findLive(b, in.GetMailId())
		if err != nil {
			return false, err
		}
		if len(m.Items) == 0 {
			return false, invalid("nothing to claim")
		}
		if m.Claimed {
			if req.ID != "" && m.ClaimReq == req.ID {
				claimed = m // the same request, retried: same answer
				return false, nil
			}
			return false, gamemesh.Errorf(gamemesh.CodeAlreadyDone, "already claimed")
		}
		if len(b.Grants) >= a.cfg.MaxPendingGrants {
			return false, errTooManyGrants
		}
		b.claimMail(m, req.ID)
		claimed = m
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	a.announce(ctx, player, claimed.GrantID)
	return &gamev1.ClaimMailResponse{Items: itemsToProto(claimed.Items), GrantId: claimed.GrantID}, nil
}

// errTooManyGrants refuses a claim or grant while the inventory owner has
// not applied the box's earlier grants.
var errTooManyGrants = gamemesh.Errorf(gamemesh.CodeLimitReached, "too many grants waiting for the inventory, retry shortly")

// claimMail marks m claimed by request reqID and queues its grant.
func (b *box) claimMail(m *mailRec, reqID string) {
	m.Claimed, m.Read, m.GrantID, m.ClaimReq = true, true, grantIDFor(m.ID), reqID
	b.Grants = append(b.Grants, &grantRec{ID: m.GrantID, MailID: m.ID, Items: m.Items, Source: GrantSource})
}

// announce publishes a GrantsPendingEvent for player. It is best effort: the
// grant waits in the box, and the inventory owner also applies pending grants
// when it loads the player.
func (a *App) announce(ctx context.Context, player gamemesh.PlayerID, grantID string) {
	data, err := proto.Marshal(&gamev1.GrantsPendingEvent{PlayerId: string(player)})
	if err == nil {
		err = a.pub.Publish(ctx, GrantsTopic, gamemesh.Event{ID: grantID, Topic: GrantsTopic, Data: data})
	}
	if err != nil {
		a.log.WarnContext(ctx, "grants event not published; the grant waits for the next load", "player", player, "grant", grantID, "err", err)
	}
}
