package guild

import (
	"context"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// targetCall is the common part of the methods acting on a member: the
// caller, the guild id and the target, checked.
func targetCall(req gamemesh.Request, in *gamev1.GuildTargetRequest) (actor gamemesh.PlayerID, id string, q gamemesh.PlayerID, err error) {
	if actor, err = functions.Caller(req); err != nil {
		return
	}
	if id, err = guildID(in.GetGuildId()); err != nil {
		return
	}
	q, err = target(in.GetPlayerId())
	return
}

// leave removes the caller from a guild; the leader must transfer or
// disband first. A retry of a leave that took effect (same request id) is
// success; the membership claim is released after the guild record.
func (a *App) leave(ctx context.Context, req gamemesh.Request, in *gamev1.GuildRequest) (*gamev1.GuildResponse, error) {
	p, err := functions.Caller(req)
	if err != nil {
		return nil, err
	}
	id, err := guildID(in.GetGuildId())
	if err != nil {
		return nil, err
	}
	var token string
	retried := false
	_, err = a.updateGuild(ctx, id, func(g *guildRec) (bool, error) {
		token, retried = "", false
		if g.done(p, req.ID, "leave", "") {
			retried = true
			return false, nil
		}
		if !g.active() {
			return false, deadErr(g)
		}
		m := g.member(p)
		if m == nil {
			return false, errNotMember
		}
		if m.Role == roleLeader {
			return false, gamemesh.Errorf(gamemesh.CodePermissionDenied, "the leader must transfer leadership or disband the guild")
		}
		token = m.Token
		delete(g.Members, string(p))
		g.logOp(p, req.ID, "leave", "", a.now())
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if retried {
		_, _ = a.settle(ctx, p) // the first attempt may have stopped before releasing the claim
	} else {
		a.freeClaim(ctx, p, id, token)
	}
	return &gamev1.GuildResponse{}, nil
}

// kick removes a member: the leader kicks anyone else, officers kick
// members. A retry (same request id) is success.
func (a *App) kick(ctx context.Context, req gamemesh.Request, in *gamev1.GuildTargetRequest) (*gamev1.GuildResponse, error) {
	actor, id, q, err := targetCall(req, in)
	if err != nil {
		return nil, err
	}
	if q == actor {
		return nil, invalid("use leave to leave the guild")
	}
	var token string
	retried := false
	g, err := a.updateGuild(ctx, id, func(g *guildRec) (bool, error) {
		token, retried = "", false
		if g.done(actor, req.ID, "kick", string(q)) {
			retried = true
			return false, nil
		}
		if !g.active() {
			return false, deadErr(g)
		}
		if err := g.require(actor, "kick", leaderOrOfficer); err != nil {
			return false, err
		}
		m := g.member(q)
		switch {
		case m == nil:
			return false, gamemesh.Errorf(gamemesh.CodeNotFound, "that player is not a member of this guild")
		case m.Role == roleLeader:
			return false, gamemesh.Errorf(gamemesh.CodePermissionDenied, "the leader cannot be kicked")
		case m.Role == roleOfficer && g.role(actor) != roleLeader:
			return false, gamemesh.Errorf(gamemesh.CodePermissionDenied, "only the leader may kick officers")
		}
		token = m.Token
		delete(g.Members, string(q))
		g.logOp(actor, req.ID, "kick", string(q), a.now())
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if retried {
		_, _ = a.settle(ctx, q)
	} else {
		a.freeClaim(ctx, q, id, token)
		a.notify(ctx, q, gamev1.GuildEventKind_GUILD_EVENT_KIND_KICKED, g, actor)
	}
	return a.answer(g, actor, false), nil
}

// promote makes a member an officer (leader only). Idempotent: promoting
// an officer changes nothing.
func (a *App) promote(ctx context.Context, req gamemesh.Request, in *gamev1.GuildTargetRequest) (*gamev1.GuildResponse, error) {
	return a.setRole(ctx, req, in, "promote members", roleOfficer)
}

// demote makes an officer a member (leader only). Idempotent: demoting a
// member changes nothing.
func (a *App) demote(ctx context.Context, req gamemesh.Request, in *gamev1.GuildTargetRequest) (*gamev1.GuildResponse, error) {
	return a.setRole(ctx, req, in, "demote officers", roleMember)
}

func (a *App) setRole(ctx context.Context, req gamemesh.Request, in *gamev1.GuildTargetRequest, what, role string) (*gamev1.GuildResponse, error) {
	actor, id, q, err := targetCall(req, in)
	if err != nil {
		return nil, err
	}
	g, err := a.updateGuild(ctx, id, func(g *guildRec) (bool, error) {
		if !g.active() {
			return false, deadErr(g)
		}
		if err := g.require(actor, what, leaderOnly); err != nil {
			return false, err
		}
		m := g.member(q)
		switch {
		case m == nil:
			return false, gamemesh.Errorf(gamemesh.CodeNotFound, "that player is not a member of this guild")
		case m.Role == roleLeader:
			return false, invalid("the leader's role changes only by transferring leadership")
		case m.Role == role:
			return false, nil
		}
		m.Role = role
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return a.answer(g, actor, false), nil
}

// transfer makes another member the leader; the old leader becomes an
// officer. One write of the guild record changes both roles, so there is
// always exactly one leader. A retry (same request id) is success.
func (a *App) transfer(ctx context.Context, req gamemesh.Request, in *gamev1.GuildTargetRequest) (*gamev1.GuildResponse, error) {
	actor, id, q, err := targetCall(req, in)
	if err != nil {
		return nil, err
	}
	g, err := a.updateGuild(ctx, id, func(g *guildRec) (bool, error) {
		if g.done(actor, req.ID, "transfer", string(q)) {
			return false, nil
		}
		if !g.active() {
			return false, deadErr(g)
		}
		if err := g.require(actor, "transfer leadership", leaderOnly); err != nil {
			return false, err
		}
		if q == actor {
			return false, invalid("already the leader")
		}
		m := g.member(q)
		if m == nil {
			return false, gamemesh.Errorf(gamemesh.CodeNotFound, "that player is not a member of this guild")
		}
		m.Role = roleLeader
		g.Members[string(actor)].Role = roleOfficer
		g.Leader = string(q)
		g.logOp(actor, req.ID, "transfer", string(q), a.now())
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return a.answer(g, actor, false), nil
}
