package mail

import (
	"context"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// maxAckIDs caps the grant ids of one ackGrants call.
const maxAckIDs = 1000

func checkPlayer(id string) (gamemesh.PlayerID, error) {
	p := gamemesh.PlayerID(id)
	if !p.Valid() {
		return "", invalid("player_id must be 2 to 64 characters of [a-z0-9_-]")
	}
	return p, nil
}

// pendingGrants returns the grants waiting for the inventory owner of a player.
func (a *App) pendingGrants(ctx context.Context, _ gamemesh.Request, in *gamev1.PendingGrantsRequest) (*gamev1.PendingGrantsResponse, error) {
	player, err := checkPlayer(in.GetPlayerId())
	if err != nil {
		return nil, err
	}
	b, err := a.load(ctx, player)
	if err != nil {
		return nil, err
	}
	out := &gamev1.PendingGrantsResponse{Grants: make([]*gamev1.Grant, 0, len(b.Grants))}
	for _, g := range b.Grants {
		out.Grants = append(out.Grants, g.toProto(player))
	}
	return out, nil
}

// ackGrants removes grants the inventory owner has applied. Unknown ids are
// ignored, so an ack may be repeated.
func (a *App) ackGrants(ctx context.Context, _ gamemesh.Request, in *gamev1.AckGrantsRequest) (*gamev1.AckGrantsResponse, error) {
	player, err := checkPlayer(in.GetPlayerId())
	if err != nil {
		return nil, err
	}
	if len(in.GetGrantIds()) > maxAckIDs {
		return nil, invalid("at most %d grant ids per ack", maxAckIDs)
	}
	acked := make(map[string]bool, len(in.GetGrantIds()))
	for _, id := range in.GetGrantIds() {
		acked[id] = true
	}
	_, err = a.update(ctx, player, func(b *box) (bool, error) {
		kept := make([]*grantRec, 0, len(b.Grants))
		for _, g := range b.Grants {
			if !acked[g.ID] {
				kept = append(kept, g)
			}
		}
		if len(kept) == len(b.Grants) {
			return false, nil
		}
		b.Grants = kept
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return &gamev1.AckGrantsResponse{}, nil
}
