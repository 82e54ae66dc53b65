package player

import (
	"context"
	"errors"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// get returns the caller's record, created on first use, after applying its
// pending grants. When grants cannot be applied (mail down or switched off)
// the record is returned as it is: the player keeps playing, the grants wait.
func (a *App) get(ctx context.Context, req gamemesh.Request, _ *gamev1.GetPlayerRequest) (*gamev1.GetPlayerResponse, error) {
	player, err := functions.Caller(req)
	if err != nil {
		return nil, err
	}
	_, rec, err := a.apply(ctx, player)
	if err == nil {
		return &gamev1.GetPlayerResponse{Player: a.welcome(ctx, rec)}, nil
	}
	var h heldError
	if errors.As(err, &h) {
		// A scene host holds the player: the record as last saved (at most a
		// flush interval old); the host applies the grants.
		return &gamev1.GetPlayerResponse{Player: a.welcome(ctx, h.rec)}, nil
	}
	a.log.WarnContext(ctx, "grants not applied", "player", req.Player, "err", err)
	rec, err = a.update(ctx, req.Player, func(*gamev1.PlayerRecord) bool { return false })
	if err != nil {
		return nil, err
	}
	return &gamev1.GetPlayerResponse{Player: rec}, nil
}
