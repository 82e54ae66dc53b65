package guild

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

var (
	errNameTaken   = gamemesh.Errorf(gamemesh.CodeConflict, "guild name is taken")
	errInterrupted = gamemesh.Errorf(gamemesh.CodeConflict, "guild creation was interrupted, retry with a new request")
)

// guildIDFor derives the id of the guild a create request makes, so that a
// retried request finds the guild its first attempt made. Without a request
// id the guild id is random.
func guildIDFor(p gamemesh.PlayerID, reqID string) string {
	if reqID == "" {
		return "g" + gamemesh.NewID()
	}
	h := sha256.New()
	for _, s := range []string{string(p), reqID} {
		_ = binary.Write(h, binary.BigEndian, uint32(len(s)))
		h.Write([]byte(s))
	}
	return "g" + hex.EncodeToString(h.Sum(nil))[:20]
}

// create makes a guild led by the caller: claim the caller's membership key
// (create-only, marked Create), reserve the name key (create-only), then
// create the guild record (create-only) — the record is the commit point.
func (a *App) create(ctx context.Context, req gamemesh.Request, in *gamev1.CreateGuildRequest) (*gamev1.GuildResponse, error) {
	p, err := functions.Caller(req)
	if err != nil {
		return nil, err
	}
	folded, hashed, err := foldName(in.GetName())
	if err != nil {
		return nil, err
	}
	if err := checkNotice(in.GetNotice()); err != nil {
		return nil, err
	}
	id := guildIDFor(p, req.ID)
	if g, err := a.createdBefore(ctx, id, p); g != nil || err != nil {
		return a.answer(g, p, false), err
	}

	token, err := a.acquireClaim(ctx, p, claimRec{Guild: id, Token: gamemesh.NewID(), Create: true, AtMs: a.now().UnixMilli()})
	if errors.Is(err, errAlreadyHere) {
		return a.retried(ctx, id, p)
	}
	if err != nil {
		return nil, err
	}
	if err := a.acquireName(ctx, hashed, folded, id); err != nil {
		a.freeClaim(ctx, p, id, token)
		return nil, err
	}
	now := a.now()
	rec := &guildRec{
		ID: id, Name: in.GetName(), NameKey: hashed, State: stateActive, Leader: string(p), Cap: a.cfg.MemberCap,
		Open: in.GetOpen(), Notice: in.GetNotice(), CreatedMs: now.UnixMilli(),
		Members: map[string]*memberRec{string(p): {Role: roleLeader, Token: token, JoinedMs: now.UnixMilli()}},
	}
	if err := rec.check(); err != nil {
		return nil, gamemesh.Wrap(gamemesh.CodeInternal, err, "internal error")
	}
	err = a.setJSON(ctx, guildKey(id), rec, gamemesh.SetOptions{})
	if errors.Is(err, gamemesh.ErrConflict) {
		// A concurrent attempt of this request made it, or a repair aborted it.
		return a.retried(ctx, id, p)
	}
	if err != nil {
		return nil, err // the claim and name stay; settle and acquireName repair them after PendingGrace
	}
	a.log.InfoContext(ctx, "guild created", "guild", id, "leader", p, "name", in.GetName())
	return a.answer(rec, p, false), nil
}

// createdBefore looks at the record a create request makes: (nil, nil)
// when it does not exist yet; the guild when this request made it and the
// caller still leads it; errInterrupted when it was aborted, disbanded or
// changed hands (and then cleans up the claim and name of an aborted one).
func (a *App) createdBefore(ctx context.Context, id string, p gamemesh.PlayerID) (*guildRec, error) {
	g, _, err := a.loadGuild(ctx, id)
	if err != nil || g == nil {
		return nil, err
	}
	if g.active() && g.member(p) != nil {
		return g, nil
	}
	if g.State == stateAborted {
		c, _, err := a.loadClaim(ctx, p)
		if err == nil && c != nil && c.Guild == id {
			a.freeClaim(ctx, p, id, c.Token)
		}
	}
	return nil, errInterrupted
}

// retried answers a create whose record turned out to exist.
func (a *App) retried(ctx context.Context, id string, p gamemesh.PlayerID) (*gamev1.GuildResponse, error) {
	g, err := a.createdBefore(ctx, id, p)
	if err != nil {
		return nil, err
	}
	if g == nil {
		return nil, errBusy
	}
	return a.answer(g, p, false), nil
}

// answer is the GuildResponse for g as p sees it.
func (a *App) answer(g *guildRec, p gamemesh.PlayerID, joined bool) *gamev1.GuildResponse {
	if g == nil {
		return nil
	}
	return &gamev1.GuildResponse{Guild: g.view(p), Joined: joined}
}

// acquireName points the name key at guild id, create-only. A key held by a
// live guild, or by a creation younger than PendingGrace, means the name is
// taken. A key held by a dead guild is deleted (ETag-guarded); one held by a
// creation that never wrote its record within PendingGrace is aborted first
// (tombstone record, create-only), then deleted.
func (a *App) acquireName(ctx context.Context, hashed, folded, id string) error {
	key := nameKeyOf(hashed)
	for range maxAttempts {
		err := a.setJSON(ctx, key, nameRec{Guild: id, Folded: folded, AtMs: a.now().UnixMilli()}, gamemesh.SetOptions{})
		if err == nil || !errors.Is(err, gamemesh.ErrConflict) {
			return err
		}
		var n nameRec
		etag, found, err := a.getJSON(ctx, key, &n)
		if err != nil {
			return err
		}
		if !found {
			continue
		}
		if n.Guild == id {
			return nil
		}
		g, _, err := a.loadGuild(ctx, n.Guild)
		if err != nil {
			return err
		}
		switch {
		case g != nil && g.active():
			return errNameTaken
		case g == nil && a.now().Sub(time.UnixMilli(n.AtMs)) < a.cfg.PendingGrace:
			return errNameTaken
		case g == nil:
			if err := a.abortCreation(ctx, n.Guild); err != nil && !errors.Is(err, gamemesh.ErrConflict) {
				return err
			}
			continue // decide again on the record as it is now
		}
		if err := a.deleteKey(ctx, key, etag); err != nil && !errors.Is(err, gamemesh.ErrConflict) {
			return err
		}
	}
	return errBusy
}

// releaseName deletes the name key of g if it still points at g.
func (a *App) releaseName(ctx context.Context, g *guildRec) {
	if g.NameKey == "" {
		return
	}
	key := nameKeyOf(g.NameKey)
	var n nameRec
	etag, found, err := a.getJSON(ctx, key, &n)
	if err == nil && found && n.Guild == g.ID {
		err = a.deleteKey(ctx, key, etag)
	}
	if err != nil {
		a.log.WarnContext(ctx, "name key not released; the next create of the name will", "guild", g.ID, "err", err)
	}
}
