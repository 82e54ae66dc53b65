package mail

import (
	"context"
	"errors"
	"fmt"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// Delivery of server-wide mail. Every read of a box (list, read, claim,
// claimAll) first compares the box's marks with the live broadcasts; the
// broadcasts it has not settled are settled in the same ETag-guarded write
// as the read's own change (or in a write of their own for list):
//
//   - for the player (audience matches): the mail is added to the box, with
//     the broadcast id as mail id, and marked. Two devices reading at once
//     race on the box's ETag: the loser re-reads, finds the mark (or the
//     mail) and adds nothing, so a broadcast reaches a box exactly once.
//   - registered after registered_before: marked, never delivered;
//   - level outside the range: marked with a time to look again
//     (Config.AudienceRecheck), so a player who levels into the range while
//     the broadcast is live still gets it;
//   - box full of unclaimed mail, or the player's profile unavailable: left
//     unmarked, delivered by a later read once possible (until it expires).
//
// A delivered broadcast counts toward the mailbox cap like any mail.

// errPrepare ends a box update that found broadcasts to deliver before
// their records and the player's profile were fetched.
var errPrepare = errors.New("mail: broadcasts to prepare")

// delivery is what settling a box's pending broadcasts needs.
type delivery struct {
	recs    []*bcastRec
	profile *gamev1.PlayerProfileResponse // nil when unavailable or not needed
}

// change runs fn on player's box (see update), delivering the pending
// broadcasts in the same write. fn's results must be set afresh on each run.
func (a *App) change(ctx context.Context, player gamemesh.PlayerID, fn func(b *box) (bool, error)) (*box, error) {
	live, err := a.liveBroadcasts(ctx)
	if err != nil {
		// Degraded: the box is served without new broadcasts; a later read delivers them.
		a.log.WarnContext(ctx, "broadcast index unreadable; delivering later", "player", player, "err", err)
		live = nil
	}
	var dl *delivery
	for {
		var need []indexEntry
		b, err := a.update(ctx, player, func(b *box) (bool, error) {
			need = nil
			delivered := false
			if dl != nil {
				delivered = a.deliver(b, dl)
			} else if need = a.pending(b, live); len(need) > 0 {
				return false, errPrepare
			}
			write, err := fn(b)
			if err != nil {
				return false, err
			}
			return write || delivered, nil
		})
		if errors.Is(err, errPrepare) {
			dl = a.prepare(ctx, player, need)
			continue
		}
		return b, err
	}
}

// pending returns the live broadcasts b has not settled (or whose recheck is due).
func (a *App) pending(b *box, live []indexEntry) []indexEntry {
	now := a.now().UnixMilli()
	var out []indexEntry
	for _, e := range live {
		if now >= e.ExpMs {
			continue
		}
		if m, ok := b.Bcast[e.ID]; ok && (m.Retry == 0 || now < m.Retry) {
			continue
		}
		out = append(out, e)
	}
	return out
}

// prepare fetches the records of the pending broadcasts, the player's
// profile if an audience needs it, and lists the box in the expiry buckets
// of the mails it may receive. What cannot be fetched is left out: those
// broadcasts stay pending.
func (a *App) prepare(ctx context.Context, player gamemesh.PlayerID, need []indexEntry) *delivery {
	dl := &delivery{}
	needProfile := false
	for _, e := range need {
		r, err := a.loadRecord(ctx, e.ID)
		if err != nil {
			a.log.WarnContext(ctx, "broadcast record unreadable; delivering later", "broadcast", e.ID, "err", err)
			continue
		}
		if err := a.listExpiry(ctx, player, r.ExpiresAtMs); err != nil {
			a.log.WarnContext(ctx, "expiry index unavailable; delivering later", "broadcast", e.ID, "err", err)
			continue
		}
		dl.recs = append(dl.recs, r)
		needProfile = needProfile || !r.Audience.any()
	}
	if needProfile {
		p, err := a.profile(ctx, player)
		if err != nil {
			a.log.WarnContext(ctx, "player profile unavailable; audience broadcasts wait", "player", player, "err", err)
		} else {
			dl.profile = p
		}
	}
	return dl
}

// profile calls player.profile.
func (a *App) profile(ctx context.Context, player gamemesh.PlayerID) (*gamev1.PlayerProfileResponse, error) {
	ctx, cancel := callContext(ctx)
	defer cancel()
	var out gamev1.PlayerProfileResponse
	if err := functions.Call(ctx, a.inv, "player", "profile", &gamev1.PlayerProfileRequest{PlayerId: string(player)}, &out); err != nil {
		return nil, fmt.Errorf("player.profile: %w", err)
	}
	return &out, nil
}

// deliver settles the prepared broadcasts in b and reports whether b changed.
func (a *App) deliver(b *box, dl *delivery) bool {
	now := a.now()
	changed := false
	for _, r := range dl.recs {
		if now.UnixMilli() >= r.ExpiresAtMs {
			continue
		}
		mark, marked := b.Bcast[r.ID]
		if marked && (mark.Retry == 0 || now.UnixMilli() < mark.Retry) {
			continue // settled by a concurrent reader
		}
		if b.mail(r.ID) != nil { // delivered, mark lost: settle it
			b.setMark(r.ID, bcastMark{Exp: r.ExpiresAtMs})
			changed = true
			continue
		}
		switch verdict(r.Audience, dl.profile) {
		case unknown:
			continue
		case never:
			b.setMark(r.ID, bcastMark{Exp: r.ExpiresAtMs})
			changed = true
			continue
		case later:
			b.setMark(r.ID, bcastMark{Exp: r.ExpiresAtMs, Retry: now.Add(a.cfg.AudienceRecheck).UnixMilli()})
			changed = true
			continue
		}
		b.sweep(now)
		if a.makeRoom(b) != nil {
			continue // full of unclaimed mail: delivered once there is room
		}
		b.NextSeq++
		b.Mails = append(b.Mails, &mailRec{
			Seq: b.NextSeq, ID: r.ID, From: r.From, Subject: r.Subject, Body: r.Body, Tpl: r.Tpl, Params: r.Params,
			Items: r.Items, SentAtMs: r.SentAtMs, ExpiresAtMs: r.ExpiresAtMs, Bcast: r.ID,
		})
		b.setMark(r.ID, bcastMark{Exp: r.ExpiresAtMs})
		changed = true
	}
	return changed
}

func (b *box) setMark(id string, m bcastMark) {
	if b.Bcast == nil {
		b.Bcast = make(map[string]bcastMark)
	}
	b.Bcast[id] = m
}

type audienceVerdict int

const (
	match   audienceVerdict = iota
	never                   // registered too late: not for this player
	later                   // level out of range: maybe later
	unknown                 // profile unavailable
)

// verdict decides whether a player with profile p is in au.
func verdict(au audience, p *gamev1.PlayerProfileResponse) audienceVerdict {
	if au.any() {
		return match
	}
	if p == nil {
		return unknown
	}
	if au.RegisteredBeforeMs > 0 && (!p.GetFound() || p.GetCreatedAtMs() >= au.RegisteredBeforeMs) {
		return never
	}
	level := max(p.GetLevel(), 1)
	if (au.MinLevel > 0 && level < au.MinLevel) || (au.MaxLevel > 0 && level > au.MaxLevel) {
		return later
	}
	return match
}
