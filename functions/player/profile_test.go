package player_test

import (
	"testing"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	"github.com/gamemesh/gamemesh/functions/player"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

func TestProfile(t *testing.T) {
	e := newEnv(t, player.Config{}, true)
	ctx := functionstest.Context(t)
	profile := func(p gamemesh.PlayerID) (*gamev1.PlayerProfileResponse, error) {
		out := new(gamev1.PlayerProfileResponse)
		err := functionstest.CallAs(ctx, e.reg, "", "", "player", "profile", &gamev1.PlayerProfileRequest{PlayerId: string(p)}, out)
		return out, err
	}
	bob := e.newPlayer(t)
	// Before the first entry: not found, level 1, and nothing is created.
	before := e.mem.Snapshot()
	got, err := profile(bob)
	if err != nil || got.Found || got.Level != 1 || got.CreatedAtMs != 0 {
		t.Fatalf("profile before entry = %v, %v", got, err)
	}
	functionstest.WantSame(t, before, e.mem.Snapshot())
	rec, err := e.get(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	got, err = profile(bob)
	if err != nil || !got.Found || got.Level != rec.Level || got.CreatedAtMs != rec.CreatedAtMs || got.CreatedAtMs != functionstest.Start.UnixMilli() {
		t.Fatalf("profile = %v, %v; record %v", got, err, rec)
	}
	_, err = profile("Not Valid")
	functionstest.WantCode(t, err, gamemesh.CodeInvalidArgument)
	// Service only.
	err = functionstest.CallAs(ctx, e.reg, bob, "", "player", "profile", &gamev1.PlayerProfileRequest{PlayerId: string(bob)}, &gamev1.PlayerProfileResponse{})
	functionstest.WantCode(t, err, gamemesh.CodeUnknownRoute)
	// The store down: UNAVAILABLE.
	e.recStore.SetDown(true)
	_, err = profile(bob)
	functionstest.WantCode(t, err, gamemesh.CodeUnavailable)
	e.recStore.SetDown(false)
}
