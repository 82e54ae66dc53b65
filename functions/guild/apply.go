package guild

import (
	"context"
	"fmt"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

var (
	errNotOpen        = gamemesh.Errorf(gamemesh.CodeConflict, "guild is no longer open, retry")
	errNoApplication  = gamemesh.Errorf(gamemesh.CodeNotFound, "no application from that player")
	errNoInvitation   = gamemesh.Errorf(gamemesh.CodeNotFound, "no invitation to this guild")
	errTooManyApps    = gamemesh.Errorf(gamemesh.CodeLimitReached, "too many pending applications to this guild")
	errTooManyInvites = gamemesh.Errorf(gamemesh.CodeLimitReached, "too many pending invitations from this guild")
)

func anyone(*guildRec) error { return nil }

// apply asks to join a guild; on an open guild it joins at once.
// Idempotent: applying again, or once a member, changes nothing.
func (a *App) apply(ctx context.Context, req gamemesh.Request, in *gamev1.GuildRequest) (*gamev1.GuildResponse, error) {
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
	if g.member(p) != nil {
		return a.answer(g, p, true), nil
	}
	mine, err := a.settle(ctx, p)
	if err != nil {
		return nil, err
	}
	if mine != nil {
		if mine.ID == id {
			return a.answer(mine, p, true), nil
		}
		return nil, errInGuild
	}
	if g.Open {
		j, _, err := a.join(ctx, id, p, joinRules{mayAct: anyone, ticket: func(g *guildRec) error {
			if !g.Open {
				return errNotOpen
			}
			return nil
		}})
		if err != nil {
			return nil, err
		}
		return a.answer(j, p, true), nil
	}
	joined := false
	g, err = a.updateGuild(ctx, id, func(g *guildRec) (bool, error) {
		joined = false
		if !g.active() {
			return false, deadErr(g)
		}
		if g.member(p) != nil {
			joined = true
			return false, nil
		}
		if _, ok := g.Apps[string(p)]; ok {
			return false, nil
		}
		if len(g.Apps) >= a.cfg.MaxApplications {
			return false, errTooManyApps
		}
		if len(g.Members) >= g.Cap {
			return false, errFull
		}
		g.Apps[string(p)] = a.now().UnixMilli()
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return a.answer(g, p, joined), nil
}

// accept joins a guild that invited the caller. Idempotent: once a member,
// accepting again answers the same.
func (a *App) accept(ctx context.Context, req gamemesh.Request, in *gamev1.GuildRequest) (*gamev1.GuildResponse, error) {
	p, err := functions.Caller(req)
	if err != nil {
		return nil, err
	}
	id, err := guildID(in.GetGuildId())
	if err != nil {
		return nil, err
	}
	g, _, err := a.join(ctx, id, p, joinRules{mayAct: anyone, ticket: func(g *guildRec) error {
		if _, ok := g.Invites[string(p)]; !ok {
			return errNoInvitation
		}
		return nil
	}})
	if err != nil {
		return nil, err
	}
	return a.answer(g, p, true), nil
}

// approve makes an applicant a member (leader, officers). Idempotent: an
// applicant already a member of this guild is success.
func (a *App) approve(ctx context.Context, req gamemesh.Request, in *gamev1.GuildTargetRequest) (*gamev1.GuildResponse, error) {
	actor, err := functions.Caller(req)
	if err != nil {
		return nil, err
	}
	id, err := guildID(in.GetGuildId())
	if err != nil {
		return nil, err
	}
	q, err := target(in.GetPlayerId())
	if err != nil {
		return nil, err
	}
	g, fresh, err := a.join(ctx, id, q, joinRules{
		mayAct: func(g *guildRec) error { return g.require(actor, "approve applications", leaderOrOfficer) },
		ticket: func(g *guildRec) error {
			if _, ok := g.Apps[string(q)]; !ok {
				return errNoApplication
			}
			return nil
		},
	})
	if err != nil {
		return nil, err
	}
	if fresh {
		a.notify(ctx, q, gamev1.GuildEventKind_GUILD_EVENT_KIND_JOINED, g, actor)
	}
	return a.answer(g, actor, true), nil
}

// reject drops an application (leader, officers). Idempotent: rejecting a
// player with no application is success.
func (a *App) reject(ctx context.Context, req gamemesh.Request, in *gamev1.GuildTargetRequest) (*gamev1.GuildResponse, error) {
	actor, err := functions.Caller(req)
	if err != nil {
		return nil, err
	}
	id, err := guildID(in.GetGuildId())
	if err != nil {
		return nil, err
	}
	q, err := target(in.GetPlayerId())
	if err != nil {
		return nil, err
	}
	g, err := a.updateGuild(ctx, id, func(g *guildRec) (bool, error) {
		if !g.active() {
			return false, deadErr(g)
		}
		if err := g.require(actor, "reject applications", leaderOrOfficer); err != nil {
			return false, err
		}
		if _, ok := g.Apps[string(q)]; !ok {
			return false, nil
		}
		delete(g.Apps, string(q))
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return a.answer(g, actor, false), nil
}

// invite invites a player not in a guild (leader, officers). Idempotent:
// inviting again, or a player already a member, changes nothing.
func (a *App) invite(ctx context.Context, req gamemesh.Request, in *gamev1.GuildTargetRequest) (*gamev1.GuildResponse, error) {
	actor, err := functions.Caller(req)
	if err != nil {
		return nil, err
	}
	id, err := guildID(in.GetGuildId())
	if err != nil {
		return nil, err
	}
	q, err := target(in.GetPlayerId())
	if err != nil {
		return nil, err
	}
	if q == actor {
		return nil, invalid("cannot invite yourself")
	}
	g, err := a.liveGuild(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := g.require(actor, "invite", leaderOrOfficer); err != nil {
		return nil, err
	}
	if g.member(q) != nil {
		return a.answer(g, actor, false), nil
	}
	if err := a.checkExists(ctx, q); err != nil {
		return nil, err
	}
	theirs, err := a.settle(ctx, q)
	if err != nil {
		return nil, err
	}
	if theirs != nil {
		if theirs.ID == id {
			return a.answer(theirs, actor, false), nil
		}
		return nil, errInGuild
	}
	invited := false
	g, err = a.updateGuild(ctx, id, func(g *guildRec) (bool, error) {
		invited = false
		if !g.active() {
			return false, deadErr(g)
		}
		if err := g.require(actor, "invite", leaderOrOfficer); err != nil {
			return false, err
		}
		if _, ok := g.Invites[string(q)]; ok || g.member(q) != nil {
			return false, nil
		}
		if len(g.Invites) >= a.cfg.MaxInvites {
			return false, errTooManyInvites
		}
		if len(g.Members) >= g.Cap {
			return false, errFull
		}
		g.Invites[string(q)] = &invite{By: string(actor), AtMs: a.now().UnixMilli()}
		invited = true
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if invited {
		a.notify(ctx, q, gamev1.GuildEventKind_GUILD_EVENT_KIND_INVITED, g, actor)
	}
	return a.answer(g, actor, false), nil
}

// checkExists refuses an unknown player with NOT_FOUND, through login.exists
// when an Invoker is configured.
func (a *App) checkExists(ctx context.Context, p gamemesh.PlayerID) error {
	if a.inv == nil {
		return nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, gamemesh.DefaultDeadline)
		defer cancel()
	}
	var out gamev1.PlayerExistsResponse
	if err := functions.Call(ctx, a.inv, "login", "exists", &gamev1.PlayerExistsRequest{PlayerId: string(p)}, &out); err != nil {
		code := gamemesh.CodeOf(err)
		if code != gamemesh.CodeDeadlineExceeded {
			code = gamemesh.CodeUnavailable
		}
		return gamemesh.Wrap(code, fmt.Errorf("login.exists: %w", err), "cannot check the player, retry later")
	}
	if !out.GetExists() {
		return gamemesh.Errorf(gamemesh.CodeNotFound, "no such player")
	}
	return nil
}
