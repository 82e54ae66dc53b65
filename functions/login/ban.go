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
	if err := a.setSanction(ctx, in.GetPlayerId(), in.GetReason(), in.GetUntilMs(), banOf, "banned"); err != nil {
		return nil, err
	}
	return &gamev1.BanResponse{}, nil
}

// unban lifts the ban of an account (a no-op when it has none).
func (a *App) unban(ctx context.Context, _ gamemesh.Request, in *gamev1.UnbanRequest) (*gamev1.BanResponse, error) {
	if err := a.liftSanction(ctx, in.GetPlayerId(), banOf, "unbanned"); err != nil {
		return nil, err
	}
	return &gamev1.BanResponse{}, nil
}

// sanctionOf selects the sanction of an account a command changes.
type sanctionOf func(*accountRecord) **banRecord

func banOf(r *accountRecord) **banRecord  { return &r.Ban }
func muteOf(r *accountRecord) **banRecord { return &r.Mute }

// setSanction sets (or replaces) the sanction field selects, after checking
// the player id, the reason and the end time; the same sanction again
// changes nothing. done names it in the log ("banned", "muted").
func (a *App) setSanction(ctx context.Context, playerID, reason string, untilMs int64, field sanctionOf, done string) error {
	player, err := checkPlayer(playerID)
	if err != nil {
		return err
	}
	if !validReason(reason) {
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "reason must be at most %d bytes of UTF-8 without control characters", maxReasonLen)
	}
	if untilMs < 0 {
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "until_ms must be 0 (forever) or a time")
	}
	err = a.updateAccount(ctx, player, func(rec *accountRecord) bool {
		cur := field(rec)
		if *cur != nil && (*cur).Reason == reason && (*cur).UntilMs == untilMs {
			return false
		}
		*cur = &banRecord{Reason: reason, UntilMs: untilMs, AtMs: a.now().UnixMilli()}
		return true
	})
	if err != nil {
		return err
	}
	a.log.InfoContext(ctx, "account "+done, "player", player, "until_ms", untilMs, "reason", reason)
	return nil
}

// liftSanction removes the sanction field selects (a no-op when there is none).
func (a *App) liftSanction(ctx context.Context, playerID string, field sanctionOf, done string) error {
	player, err := checkPlayer(playerID)
	if err != nil {
		return err
	}
	err = a.updateAccount(ctx, player, func(rec *accountRecord) bool {
		cur := field(rec)
		if *cur == nil {
			return false
		}
		*cur = nil
		return true
	})
	if err != nil {
		return err
	}
	a.log.InfoContext(ctx, "account "+done, "player", player)
	return nil
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
