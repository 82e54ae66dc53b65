package guild

import (
	"context"
	"errors"
	"time"

	"github.com/gamemesh/gamemesh"
)

var (
	errFull      = gamemesh.Errorf(gamemesh.CodeLimitReached, "guild is full")
	errCancelled = gamemesh.Errorf(gamemesh.CodeConflict, "the join was cancelled, retry")
)

// deadErr is the answer for a guild that is not active.
func deadErr(g *guildRec) error {
	if g.State == stateDisbanded {
		return errDisbanded
	}
	return errNoGuild
}

// joinRules say who may make p a member of a guild: mayAct checks the actor
// (runs first, so that a caller without the right learns nothing more), and
// ticket checks the application, invitation or open flag that lets p in.
type joinRules struct {
	mayAct func(g *guildRec) error
	ticket func(g *guildRec) error
}

// join makes p a member of guild id in three writes (see doc.go, "Joining"):
// reserve a slot in the guild record, claim p's membership key create-only,
// commit the reservation into a membership. It returns the guild as it
// stands after the join, and fresh when this call's commit made p a member
// (a p that already was a member is success too, not fresh).
func (a *App) join(ctx context.Context, id string, p gamemesh.PlayerID, rules joinRules) (*guildRec, bool, error) {
	token, g, err := a.reserve(ctx, id, p, rules)
	if err != nil || token == "" {
		return g, false, err
	}
	_, err = a.acquireClaim(ctx, p, claimRec{Guild: id, Token: token, AtMs: a.now().UnixMilli()})
	switch {
	case errors.Is(err, errAlreadyHere):
		g, err := a.liveGuild(ctx, id)
		return g, false, err
	case errors.Is(err, errInGuild), errors.Is(err, errCreating):
		a.release(ctx, id, p, token, errors.Is(err, errInGuild))
		return nil, false, err
	case err != nil:
		// The claim may or may not exist: leave the reservation, which a
		// later settle commits or the reservation TTL frees.
		return nil, false, err
	}
	res, err := a.commit(ctx, id, p, token)
	if err != nil {
		return nil, false, err
	}
	if res.g == nil {
		a.freeClaim(ctx, p, id, token)
		return nil, false, res.reason
	}
	return res.g, res.fresh, nil
}

// reserve takes a join slot for p in guild id and returns its token; an
// existing reservation for p is reused (concurrent approvals of one player
// drive the same join). The token is "" when p already is a member.
func (a *App) reserve(ctx context.Context, id string, p gamemesh.PlayerID, rules joinRules) (string, *guildRec, error) {
	var token string
	g, err := a.updateGuild(ctx, id, func(g *guildRec) (bool, error) {
		token = ""
		if !g.active() {
			return false, deadErr(g)
		}
		if err := rules.mayAct(g); err != nil {
			return false, err
		}
		if g.member(p) != nil {
			return false, nil
		}
		if err := rules.ticket(g); err != nil {
			return false, err
		}
		now := a.now()
		if r := g.Reserved[string(p)]; r != nil {
			token = r.Token
			if now.Sub(time.UnixMilli(r.AtMs)) < a.cfg.ReserveTTL/2 {
				return false, nil
			}
			r.AtMs = now.UnixMilli() // keep it from going stale under us
			return true, nil
		}
		if len(g.Members)+g.liveReserved(now, a.cfg.ReserveTTL) >= g.Cap {
			return false, errFull
		}
		token = gamemesh.NewID()
		g.Reserved[string(p)] = &reservation{Token: token, AtMs: now.UnixMilli()}
		return true, nil
	})
	return token, g, err
}

// commitResult is the outcome of commit: the guild when p is a member
// afterwards (fresh when this commit made it one), or the reason it is not.
type commitResult struct {
	g      *guildRec
	fresh  bool
	reason error
}

// commit turns p's reservation with token into a membership, in one ETag
// write of the guild record. When p is not a member afterwards, the result
// says why: the reservation is gone (cancelled, disbanded) or — only when
// reservations went stale and were replaced — the guild is full, in which
// case the reservation is dropped. A reservation, once removed, never comes
// back with the same token, so a "gone" read is final. err is a store
// failure: the outcome is unknown.
func (a *App) commit(ctx context.Context, id string, p gamemesh.PlayerID, token string) (commitResult, error) {
	var res commitResult
	g, err := a.updateGuild(ctx, id, func(g *guildRec) (bool, error) {
		res = commitResult{}
		if !g.active() {
			res.reason = deadErr(g)
			return false, nil
		}
		if g.member(p) != nil {
			return false, nil
		}
		r := g.Reserved[string(p)]
		if r == nil || r.Token != token {
			res.reason = errCancelled
			return false, nil
		}
		delete(g.Reserved, string(p))
		if len(g.Members) >= g.Cap {
			res.reason = errFull
			return true, nil
		}
		delete(g.Apps, string(p))
		delete(g.Invites, string(p))
		g.Members[string(p)] = &memberRec{Role: roleMember, Token: token, JoinedMs: a.now().UnixMilli()}
		res.fresh = true
		return true, nil
	})
	switch {
	case errors.Is(err, errNoGuild):
		return commitResult{reason: errNoGuild}, nil
	case err != nil:
		return commitResult{}, err
	case res.reason == nil:
		res.g = g
	}
	return res, nil
}

// release drops p's reservation with token from guild id after its claim
// failed; when p turned out to be in another guild, its application and
// invitation are dropped too (they can no longer be honoured). Best effort:
// a reservation left behind stops counting after ReserveTTL.
func (a *App) release(ctx context.Context, id string, p gamemesh.PlayerID, token string, dropTickets bool) {
	_, err := a.updateGuild(ctx, id, func(g *guildRec) (bool, error) {
		changed := false
		if r := g.Reserved[string(p)]; r != nil && r.Token == token {
			delete(g.Reserved, string(p))
			changed = true
		}
		if _, ok := g.Apps[string(p)]; ok && dropTickets {
			delete(g.Apps, string(p))
			changed = true
		}
		if _, ok := g.Invites[string(p)]; ok && dropTickets {
			delete(g.Invites, string(p))
			changed = true
		}
		return changed, nil
	})
	if err != nil {
		a.log.WarnContext(ctx, "reservation not released; it expires", "guild", id, "player", p, "err", err)
	}
}
