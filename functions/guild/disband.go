package guild

import (
	"context"
	"sort"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// disband ends a guild (leader only). One write turns the record into a
// tombstone (state disbanded, no members, no reservations, no applications
// or invitations, kept for TombstoneTTL): from then on every join, commit
// and settle sees a dead guild. Then the members' claims and the name key
// are released; a crash before that is repaired by settle (claims) and by
// the next create of the name (name key). A retry (same request id) is
// success and runs the release again.
func (a *App) disband(ctx context.Context, req gamemesh.Request, in *gamev1.GuildRequest) (*gamev1.GuildResponse, error) {
	actor, err := functions.Caller(req)
	if err != nil {
		return nil, err
	}
	id, err := guildID(in.GetGuildId())
	if err != nil {
		return nil, err
	}
	fresh := false
	var members []gamemesh.PlayerID
	g, err := a.updateGuild(ctx, id, func(g *guildRec) (bool, error) {
		fresh, members = false, members[:0]
		if !g.active() {
			if g.State == stateDisbanded && g.done(actor, req.ID, "disband", "") {
				return false, nil
			}
			return false, deadErr(g)
		}
		if err := g.require(actor, "disband the guild", leaderOnly); err != nil {
			return false, err
		}
		g.Former = g.Former[:0]
		for p, m := range g.Members {
			g.Former = append(g.Former, formerRec{Player: p, Token: m.Token})
			if p != string(actor) {
				members = append(members, gamemesh.PlayerID(p))
			}
		}
		for p, r := range g.Reserved {
			g.Former = append(g.Former, formerRec{Player: p, Token: r.Token})
		}
		sort.Slice(g.Former, func(i, j int) bool { return g.Former[i].Player < g.Former[j].Player })
		clear(g.Members)
		clear(g.Reserved)
		clear(g.Apps)
		clear(g.Invites)
		g.State = stateDisbanded
		g.EndMs = a.now().UnixMilli()
		g.logOp(actor, req.ID, "disband", "", a.now())
		fresh = true
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	for _, f := range g.Former {
		a.freeClaim(ctx, gamemesh.PlayerID(f.Player), id, f.Token)
	}
	a.releaseName(ctx, g)
	if fresh {
		a.log.InfoContext(ctx, "guild disbanded", "guild", id, "leader", actor, "members", len(members)+1)
		for _, p := range members {
			a.notify(ctx, p, gamev1.GuildEventKind_GUILD_EVENT_KIND_DISBANDED, g, actor)
		}
	}
	return &gamev1.GuildResponse{}, nil
}
