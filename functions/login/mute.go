package login

import (
	"context"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// mute sets (or replaces) the mute of an account: the player may not speak
// to others until it ends. Setting the same mute twice is harmless.
func (a *App) mute(ctx context.Context, _ gamemesh.Request, in *gamev1.MuteRequest) (*gamev1.MuteResponse, error) {
	player, err := checkPlayer(in.GetPlayerId())
	if err != nil {
		return nil, err
	}
	if !validReason(in.GetReason()) {
		return nil, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "reason must be at most %d bytes of UTF-8 without control characters", maxReasonLen)
	}
	if in.GetUntilMs() < 0 {
		return nil, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "until_ms must be 0 (forever) or a time")
	}
	err = a.updateAccount(ctx, player, func(rec *accountRecord) bool {
		if rec.Mute != nil && rec.Mute.Reason == in.GetReason() && rec.Mute.UntilMs == in.GetUntilMs() {
			return false
		}
		rec.Mute = &banRecord{Reason: in.GetReason(), UntilMs: in.GetUntilMs(), AtMs: a.now().UnixMilli()}
		return true
	})
	if err != nil {
		return nil, err
	}
	a.log.InfoContext(ctx, "account muted", "player", player, "until_ms", in.GetUntilMs(), "reason", in.GetReason())
	return &gamev1.MuteResponse{}, nil
}

// unmute lifts the mute of an account (a no-op when it has none).
func (a *App) unmute(ctx context.Context, _ gamemesh.Request, in *gamev1.UnmuteRequest) (*gamev1.MuteResponse, error) {
	player, err := checkPlayer(in.GetPlayerId())
	if err != nil {
		return nil, err
	}
	err = a.updateAccount(ctx, player, func(rec *accountRecord) bool {
		if rec.Mute == nil {
			return false
		}
		rec.Mute = nil
		return true
	})
	if err != nil {
		return nil, err
	}
	a.log.InfoContext(ctx, "account unmuted", "player", player)
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
