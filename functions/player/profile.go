package player

import (
	"context"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// profile answers the public facts about a player that other functions
// filter on (mail audiences: level and registration time). It only reads:
// a player without a record is reported as not found, level 1. While a scene
// host holds the player, the stored record may lag behind it by at most its
// flush window.
func (a *App) profile(ctx context.Context, _ gamemesh.Request, in *gamev1.PlayerProfileRequest) (*gamev1.PlayerProfileResponse, error) {
	player := gamemesh.PlayerID(in.GetPlayerId())
	if !player.Valid() {
		return nil, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "player_id must be 2 to 64 characters of [a-z0-9_-]")
	}
	item, exists, err := functions.Read(ctx, a.store, recordKey(player), recordUpdate.What)
	if err != nil {
		return nil, err
	}
	if !exists {
		return &gamev1.PlayerProfileResponse{Level: 1}, nil
	}
	rec, err := a.decode(player, item.Value, true)
	if err != nil {
		return nil, err
	}
	return &gamev1.PlayerProfileResponse{Found: true, Level: rec.GetLevel(), CreatedAtMs: rec.GetCreatedAtMs()}, nil
}

// registerProfile adds player.profile (service only) to reg.
func (a *App) registerProfile(reg *functions.Registry) {
	reg.Handle(AppName, "profile", functions.Method{
		Handler: functions.Typed(func() *gamev1.PlayerProfileRequest { return new(gamev1.PlayerProfileRequest) }, a.profile),
		MaxBody: maxBody,
	})
}
