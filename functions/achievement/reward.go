package achievement

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// flush sends the pending rewards of rec by mail and clears their pending
// flag. Each mail carries the request id rewardRequestID(p, id), so a send
// repeated after a crash (mail sent, flag not yet cleared) is answered by
// mail with the same mail: a reward is never lost and never sent twice. A
// mail failure keeps the reward pending (retried by the next event of p or
// by list) and is not an error; a store failure while clearing is.
func (a *App) flush(ctx context.Context, p gamemesh.PlayerID, rec *progressRec) (*progressRec, error) {
	pending := rec.pending()
	if len(pending) == 0 {
		return rec, nil
	}
	sent := make(map[string]bool, len(pending))
	for _, u := range pending {
		if err := a.sendReward(ctx, p, u); err != nil {
			a.log.WarnContext(ctx, "reward mail failed, kept pending", "player", p, "achievement", u.ID, "err", err)
			continue
		}
		sent[u.ID] = true
	}
	if len(sent) == 0 {
		return rec, nil
	}
	return a.update(ctx, p, func(r *progressRec) (bool, error) {
		write := false
		for i := range r.Unlocked {
			if r.Unlocked[i].Pending && sent[r.Unlocked[i].ID] {
				r.Unlocked[i].Pending = false
				write = true
			}
		}
		return write, nil
	})
}

// RewardTemplate is the mail template of reward mails (scripts/mail).
const RewardTemplate = "achievement_reward"

// sendReward sends u's reward to p through mail.send, as a service, as a
// template mail (while Lua is unavailable, mail delivers it with a fallback
// text: the reward is never held back by its text).
func (a *App) sendReward(ctx context.Context, p gamemesh.PlayerID, u unlockRec) error {
	items := make([]*gamev1.Item, len(u.Reward))
	for i, it := range u.Reward {
		items[i] = &gamev1.Item{Id: it.ID, Count: it.Count}
	}
	in := &gamev1.SendMailRequest{
		To:          string(p),
		Template:    RewardTemplate,
		Params:      map[string]string{"title": u.Title},
		Attachments: items,
		RequestId:   RewardRequestID(p, u.ID),
	}
	ctx, cancel := callContext(ctx)
	defer cancel()
	var out gamev1.SendMailResponse
	if err := functions.Call(ctx, a.inv, "mail", "send", in, &out); err != nil {
		return fmt.Errorf("mail.send: %w", err)
	}
	return nil
}

// RewardRequestID is the mail request id of the reward of achievement id for
// player p: "ach-<player>-<id>", or "ach-" and a hash of both when that is
// longer than mail's 64-character limit.
func RewardRequestID(p gamemesh.PlayerID, id string) string {
	s := "ach-" + string(p) + "-" + id
	if len(s) <= 64 {
		return s
	}
	h := sha256.Sum256([]byte(string(p) + "/" + id))
	return "ach-" + hex.EncodeToString(h[:])[:40]
}

// notify pushes "achievement.unlocked" to p, best effort.
func (a *App) notify(ctx context.Context, p gamemesh.PlayerID, u unlockRec) {
	if a.push == nil {
		return
	}
	body, err := proto.Marshal(&gamev1.AchievementUnlockedPush{Achievement: u.proto()})
	if err == nil {
		err = a.push.Push(ctx, p, PushRoute, body)
	}
	if err != nil {
		a.log.WarnContext(ctx, "achievement push failed", "player", p, "achievement", u.ID, "err", err)
	}
}
