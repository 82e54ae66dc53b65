package login

import (
	"context"
	"unicode"
	"unicode/utf8"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// maxReasonLen caps a ban reason, in bytes.
const maxReasonLen = 256

func validReason(s string) bool {
	if len(s) > maxReasonLen || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func checkPlayer(id string) (gamemesh.PlayerID, error) {
	p := gamemesh.PlayerID(id)
	if !p.Valid() {
		return "", gamemesh.Errorf(gamemesh.CodeInvalidArgument, "player_id must be 2 to 64 characters of [a-z0-9_-]")
	}
	return p, nil
}

// ban sets (or replaces) the ban of an account. Setting the same ban twice
// is harmless, so retries are safe.
func (a *App) ban(ctx context.Context, _ gamemesh.Request, in *gamev1.BanRequest) (*gamev1.BanResponse, error) {
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
		if rec.Ban != nil && rec.Ban.Reason == in.GetReason() && rec.Ban.UntilMs == in.GetUntilMs() {
			return false
		}
		rec.Ban = &banRecord{Reason: in.GetReason(), UntilMs: in.GetUntilMs(), AtMs: a.now().UnixMilli()}
		return true
	})
	if err != nil {
		return nil, err
	}
	a.log.InfoContext(ctx, "account banned", "player", player, "until_ms", in.GetUntilMs(), "reason", in.GetReason())
	return &gamev1.BanResponse{}, nil
}

// unban lifts the ban of an account (a no-op when it has none).
func (a *App) unban(ctx context.Context, _ gamemesh.Request, in *gamev1.UnbanRequest) (*gamev1.BanResponse, error) {
	player, err := checkPlayer(in.GetPlayerId())
	if err != nil {
		return nil, err
	}
	err = a.updateAccount(ctx, player, func(rec *accountRecord) bool {
		if rec.Ban == nil {
			return false
		}
		rec.Ban = nil
		return true
	})
	if err != nil {
		return nil, err
	}
	a.log.InfoContext(ctx, "account unbanned", "player", player)
	return &gamev1.BanResponse{}, nil
}

// exists reports whether player has an account.
func (a *App) exists(ctx context.Context, _ gamemesh.Request, in *gamev1.PlayerExistsRequest) (*gamev1.PlayerExistsResponse, error) {
	player, err := checkPlayer(in.GetPlayerId())
	if err != nil {
		return nil, err
	}
	var rec accountRecord
	found, err := a.getJSON(ctx, accountKey(player), &rec)
	if err != nil {
		return nil, err
	}
	return &gamev1.PlayerExistsResponse{Exists: found}, nil
}

// updateAccount applies fn to the account of player with functions.Update;
// fn returns false to leave the record unchanged. An unknown player is
// NOT_FOUND.
func (a *App) updateAccount(ctx context.Context, player gamemesh.PlayerID, fn func(*accountRecord) bool) error {
	key := accountKey(player)
	_, err := functions.Update(ctx, a.store, key, updateOptions("account update"), func(cur []byte, exists bool) (*functions.Write, error) {
		if !exists {
			return nil, gamemesh.Errorf(gamemesh.CodeNotFound, "no such player")
		}
		var rec accountRecord
		if err := decodeJSON(key, cur, &rec); err != nil {
			return nil, err
		}
		if !fn(&rec) {
			return nil, nil
		}
		return writeJSON(key, rec)
	})
	return err
}
