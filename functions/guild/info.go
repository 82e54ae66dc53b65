package guild

import (
	"context"
	"sort"
	"strings"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

var errNoOwnGuild = gamemesh.Errorf(gamemesh.CodeNotFound, "not in a guild")

// guildFor returns guild id, or p's own guild when id is empty (settling
// p's claim on the way).
func (a *App) guildFor(ctx context.Context, p gamemesh.PlayerID, id string) (*guildRec, error) {
	if id == "" {
		g, err := a.settle(ctx, p)
		if err != nil {
			return nil, err
		}
		if g == nil {
			return nil, errNoOwnGuild
		}
		return g, nil
	}
	if _, err := guildID(id); err != nil {
		return nil, err
	}
	return a.liveGuild(ctx, id)
}

// info returns a guild as the caller sees it; an empty guild_id means the
// caller's own guild (NOT_FOUND when it has none).
func (a *App) info(ctx context.Context, req gamemesh.Request, in *gamev1.GuildRequest) (*gamev1.GuildResponse, error) {
	p, err := functions.Caller(req)
	if err != nil {
		return nil, err
	}
	g, err := a.guildFor(ctx, p, in.GetGuildId())
	if err != nil {
		return nil, err
	}
	return a.answer(g, p, false), nil
}

// members lists a guild's members ordered by player id, one page at a time;
// the page token is the last player id of the previous page, so members who
// join or leave between pages never make paging repeat or skip the others.
func (a *App) members(ctx context.Context, req gamemesh.Request, in *gamev1.ListGuildMembersRequest) (*gamev1.ListGuildMembersResponse, error) {
	p, err := functions.Caller(req)
	if err != nil {
		return nil, err
	}
	size := int(in.GetPageSize())
	if size == 0 {
		size = DefaultPageSize
	}
	if size < 1 || size > MaxPageSize {
		return nil, invalid("page_size must be 1 to %d", MaxPageSize)
	}
	after := in.GetPageToken()
	if after != "" && !gamemesh.ValidKeyPart(after) {
		return nil, gamemesh.Errorf(gamemesh.CodeBadRequest, "bad page token")
	}
	g, err := a.guildFor(ctx, p, in.GetGuildId())
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(g.Members))
	for id := range g.Members {
		if strings.Compare(id, after) > 0 {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	out := &gamev1.ListGuildMembersResponse{Total: int32(len(g.Members))}
	for i, id := range ids {
		if i == size {
			out.NextPageToken = ids[i-1]
			break
		}
		m := g.Members[id]
		out.Members = append(out.Members, &gamev1.GuildMember{PlayerId: id, Role: roleProto(m.Role), JoinedAtMs: m.JoinedMs})
	}
	return out, nil
}

// applications lists the pending applications, oldest first (leader, officers).
func (a *App) applications(ctx context.Context, req gamemesh.Request, in *gamev1.GuildRequest) (*gamev1.GuildApplicationsResponse, error) {
	p, err := functions.Caller(req)
	if err != nil {
		return nil, err
	}
	id, err := guildID(in.GetGuildId())
	if err != nil {
		return nil, err
	}
	g, err := a.liveGuild(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := g.require(p, "see applications", leaderOrOfficer); err != nil {
		return nil, err
	}
	out := &gamev1.GuildApplicationsResponse{}
	for q, at := range g.Apps {
		out.Applications = append(out.Applications, &gamev1.GuildApplication{PlayerId: q, AppliedAtMs: at})
	}
	sort.Slice(out.Applications, func(i, j int) bool {
		x, y := out.Applications[i], out.Applications[j]
		return x.AppliedAtMs < y.AppliedAtMs || x.AppliedAtMs == y.AppliedAtMs && x.PlayerId < y.PlayerId
	})
	return out, nil
}

// setNotice sets the guild notice (leader, officers). Naturally idempotent.
func (a *App) setNotice(ctx context.Context, req gamemesh.Request, in *gamev1.GuildNoticeRequest) (*gamev1.GuildResponse, error) {
	p, err := functions.Caller(req)
	if err != nil {
		return nil, err
	}
	id, err := guildID(in.GetGuildId())
	if err != nil {
		return nil, err
	}
	if err := checkNotice(in.GetNotice()); err != nil {
		return nil, err
	}
	g, err := a.updateGuild(ctx, id, func(g *guildRec) (bool, error) {
		if !g.active() {
			return false, deadErr(g)
		}
		if err := g.require(p, "set the notice", leaderOrOfficer); err != nil {
			return false, err
		}
		if g.Notice == in.GetNotice() {
			return false, nil
		}
		g.Notice = in.GetNotice()
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return a.answer(g, p, false), nil
}

// setOpen opens or closes the guild to joining without approval (leader
// only). Naturally idempotent.
func (a *App) setOpen(ctx context.Context, req gamemesh.Request, in *gamev1.GuildOpenRequest) (*gamev1.GuildResponse, error) {
	p, err := functions.Caller(req)
	if err != nil {
		return nil, err
	}
	id, err := guildID(in.GetGuildId())
	if err != nil {
		return nil, err
	}
	g, err := a.updateGuild(ctx, id, func(g *guildRec) (bool, error) {
		if !g.active() {
			return false, deadErr(g)
		}
		if err := g.require(p, "open or close the guild", leaderOnly); err != nil {
			return false, err
		}
		if g.Open == in.GetOpen() {
			return false, nil
		}
		g.Open = in.GetOpen()
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return a.answer(g, p, false), nil
}

// settleMethod is guild.settle (service use): repair a player's membership
// claim and report its guild.
func (a *App) settleMethod(ctx context.Context, _ gamemesh.Request, in *gamev1.SettleGuildRequest) (*gamev1.SettleGuildResponse, error) {
	p := gamemesh.PlayerID(in.GetPlayerId())
	if !p.Valid() {
		return nil, invalid("player_id must be 2 to 64 characters of [a-z0-9_-]")
	}
	g, err := a.settle(ctx, p)
	if err != nil {
		return nil, err
	}
	if g == nil {
		return &gamev1.SettleGuildResponse{}, nil
	}
	return &gamev1.SettleGuildResponse{GuildId: g.ID}, nil
}
