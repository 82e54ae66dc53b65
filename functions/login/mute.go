package login

import (
	"context"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// mute sets (or replaces) the mute of an account: the player may not speak
// to others until it ends. Setting the same mute twice is harmless.
func (a *App) mute(ctx context.Context, _ gamemesh.Request, in *gamev1.MuteRequest) (*gamev1.MuteResponse, error) {
	if err := a.setSanction(ctx, in.GetPlayerId(), in.GetReason(), in.GetUntilMs(), muteOf, "muted"); err != nil {
		return nil, err
	}
	return &gamev1.MuteResponse{}, nil
}

// unmute lifts the mute of an account (a no-op when it has none).
func (a *App) unmute(ctx context.Context, _ gamemesh.Request, in *gamev1.UnmuteRequest) (*gamev1.MuteResponse, error) {
	if err := a.liftSanction(ctx, in.GetPlayerId(), muteOf, "unmuted"); err != nil {
		return nil, err
	}
	return &gamev1.MuteResponse{}, nil
}

// status returns the bans and mutes in force on an account; NOT_FOUND for
// an unknown player.
func (a *App) status(ctx context.Context, _ gamemesh.Request, in *gamev1.AccountStatusRequest) (*gamev1.AccountStatusResponse, error) {
	player, err := checkPlayer(in.GetPlayerId())
	if err != nil {
		return nil, err
	}
	var rec accountRecord
	found, err := a.getJSON(ctx, accountKey(player), &rec)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, gamemesh.Errorf(gamemesh.CodeNotFound, "no such player")
	}
	now := a.now()
	out := &gamev1.AccountStatusResponse{PlayerId: string(player), CreatedAtMs: rec.CreatedAtMs}
	if rec.Ban.active(now) {
		out.Ban = rec.Ban.sanction()
	}
	if rec.Mute.active(now) {
		out.Mute = rec.Mute.sanction()
	}
	return out, nil
}

func (b *banRecord) sanction() *gamev1.Sanction {
	return &gamev1.Sanction{Reason: b.Reason, UntilMs: b.UntilMs, AtMs: b.AtMs}
}
