package scenehost

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	"github.com/gamemesh/gamemesh/functions/player"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/scene"
)

type sceneView = scene.EntityView

// pullGrants applies p's pending grants (mail's outbox) once each by grant
// id, then saves at once; the grants are acknowledged only after a save
// holding them succeeded (by this save or a later one).
func (h *Host) pullGrants(ctx context.Context, p *held) error {
	var pending gamev1.PendingGrantsResponse
	if err := functions.Call(ctx, h.deps.Invoker, "mail", "pendingGrants", &gamev1.PendingGrantsRequest{PlayerId: string(p.id)}, &pending); err != nil {
		return fmt.Errorf("mail.pendingGrants: %w", err)
	}
	if len(pending.GetGrants()) == 0 {
		return nil
	}
	p.mu.Lock()
	for _, g := range pending.GetGrants() {
		if g.GetPlayerId() != string(p.id) || g.GetId() == "" {
			continue
		}
		if _, err := p.grant(g.GetId(), g.GetItems()); err != nil {
			h.log.Error("refusing grant", "player", p.id, "grant", g.GetId(), "source", g.GetSource(), "err", err)
			continue
		}
		p.unacked = append(p.unacked, g.GetId())
	}
	p.urgent = p.urgent || len(p.unacked) > 0
	p.mu.Unlock()
	return h.save(p, false)
}

// onGrants is the host's grant-notice subscription: the player app forwards
// "player.grants" notices of players this host holds.
func (h *Host) onGrants(ctx context.Context, ev gamemesh.Event) error {
	var msg gamev1.GrantsPendingEvent
	if err := proto.Unmarshal(ev.Data, &msg); err != nil || !gamemesh.PlayerID(msg.GetPlayerId()).Valid() {
		h.log.Error("dropping malformed grants notice", "event", ev.ID, "err", err)
		return nil
	}
	id := gamemesh.PlayerID(msg.GetPlayerId())
	h.mu.Lock()
	p := h.players[id]
	h.mu.Unlock()
	if p != nil {
		select {
		case <-p.loaded: // a notice during the load waits for the record
		case <-ctx.Done():
			return ctx.Err()
		}
		p.mu.Lock()
		loaded := p.epoch != 0 && p.state != stOffline
		p.mu.Unlock()
		if loaded {
			return h.pullGrants(ctx, p)
		}
	}
	// Not (or no longer) held here: the player app applies them or forwards
	// the notice to the current holder.
	return functions.Call(ctx, h.deps.Invoker, player.AppName, "applyGrants", &gamev1.ApplyGrantsRequest{PlayerId: string(id)}, new(gamev1.ApplyGrantsResponse))
}
