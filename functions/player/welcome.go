package player

import (
	"context"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// welcome mails the welcome gift to a player that has not had it yet and marks
// the record. The mail is sent with a request id derived from the player, so a
// retry after a failure between the send and the mark sends nothing twice.
// When mail is unavailable the gift waits for the next player.get.
func (a *App) welcome(ctx context.Context, rec *gamev1.PlayerRecord) *gamev1.PlayerRecord {
	if len(a.cfg.WelcomeGift) == 0 || rec.GetWelcomeSent() {
		return rec
	}
	player := gamemesh.PlayerID(rec.GetPlayerId())
	send := &gamev1.SendMailRequest{
		To:          rec.GetPlayerId(),
		Template:    "welcome", // scripts/mail/templates.lua
		Params:      map[string]string{"name": rec.GetName()},
		Attachments: a.cfg.WelcomeGift,
		RequestId:   "welcome-" + rec.GetPlayerId(),
	}
	if err := functions.Call(ctx, a.inv, "mail", "send", send, new(gamev1.SendMailResponse)); err != nil {
		a.log.WarnContext(ctx, "welcome gift not sent yet", "player", player, "err", err)
		return rec
	}
	marked, err := a.update(ctx, player, func(r *gamev1.PlayerRecord) bool {
		if r.GetWelcomeSent() {
			return false
		}
		r.WelcomeSent = true
		return true
	})
	if err != nil {
		a.log.WarnContext(ctx, "welcome gift sent, record not marked yet", "player", player, "err", err)
		return rec
	}
	return marked
}
