package mail

import (
	"context"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// claimAll claims every live mail of the caller that still holds
// attachments (broadcasts pending for the caller are delivered first), in
// ONE ETag-guarded write of the box: each mail's claimed marker and its
// grant go together, so racing claimAll and claim calls — from two
// connections, or retries — grant each attachment once. A retry of the same
// request (gamemesh.Request.ID) after it took effect answers the same mails
// and grants; a claimAll that found nothing writes nothing, so its retry
// simply looks again. When the box holds Config.MaxPendingGrants grants not
// yet applied, the mails that do not fit wait (LIMIT_REACHED when none fits).
func (a *App) claimAll(ctx context.Context, req gamemesh.Request, _ *gamev1.ClaimAllMailRequest) (*gamev1.ClaimAllMailResponse, error) {
	player, err := functions.Caller(req)
	if err != nil {
		return nil, err
	}
	var claimed []*mailRec
	_, err = a.change(ctx, player, func(b *box) (bool, error) {
		claimed = claimed[:0]
		if req.ID != "" {
			for _, m := range b.Mails {
				if m.Claimed && m.ClaimReq == req.ID {
					claimed = append(claimed, m)
				}
			}
			if len(claimed) > 0 {
				return false, nil // the same request, retried: the same answer
			}
		}
		now := a.now()
		for _, m := range b.Mails {
			if m.expired(now) || !m.unclaimed() {
				continue
			}
			if len(b.Grants) >= a.cfg.MaxPendingGrants {
				if len(claimed) == 0 {
					return false, errTooManyGrants
				}
				break
			}
			b.claimMail(m, req.ID)
			claimed = append(claimed, m)
		}
		return len(claimed) > 0, nil
	})
	if err != nil {
		return nil, err
	}
	out := &gamev1.ClaimAllMailResponse{}
	sums := map[string]int64{}
	var order []string
	for _, m := range claimed {
		out.MailIds = append(out.MailIds, m.ID)
		out.GrantIds = append(out.GrantIds, m.GrantID)
		for _, it := range m.Items {
			if _, ok := sums[it.ID]; !ok {
				order = append(order, it.ID)
			}
			sums[it.ID] += it.Count
		}
	}
	for _, id := range order {
		out.Items = append(out.Items, &gamev1.Item{Id: id, Count: sums[id]})
	}
	if len(claimed) > 0 {
		a.announce(ctx, player, claimed[0].GrantID)
	}
	return out, nil
}
