package guild

import (
	"context"
	"errors"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
)

var (
	errInGuild  = gamemesh.Errorf(gamemesh.CodeConflict, "player is already in a guild")
	errCreating = gamemesh.Errorf(gamemesh.CodeConflict, "player is creating a guild, retry")
	// errAlreadyHere is internal: the player already is a member of the very
	// guild it is claimed for (a retry, or a concurrent join that finished).
	errAlreadyHere = errors.New("guild: already a member of this guild")
)

func (a *App) loadClaim(ctx context.Context, p gamemesh.PlayerID) (*claimRec, string, error) {
	var c claimRec
	etag, found, err := a.getJSON(ctx, claimKey(p), &c)
	if err != nil || !found {
		return nil, "", err
	}
	return &c, etag, nil
}

// abortedRecord is the tombstone that stops a creation that never wrote its
// record: the creator's create-only write of the record then fails.
func (a *App) abortedRecord(id string) *guildRec {
	return &guildRec{ID: id, State: stateAborted, EndMs: a.now().UnixMilli()}
}

// abortCreation writes the aborted tombstone of guild id, create-only. It
// returns CONFLICT (matching gamemesh.ErrConflict) when the record exists.
func (a *App) abortCreation(ctx context.Context, id string) error {
	return a.setJSON(ctx, guildKey(id), a.abortedRecord(id), gamemesh.SetOptions{TTL: a.cfg.TombstoneTTL})
}

// settle resolves p's membership claim against the guild record it names and
// returns p's guild, nil when p is in none. The guild record decides:
//
//   - it lists p as a member: the claim holds;
//   - it holds a reservation for p with the claim's token: a join is in
//     progress or was interrupted, and settle completes it (commit) — or
//     learns that it was cancelled;
//   - the record does not exist and the claim was made by a creation younger
//     than PendingGrace: the creation is in progress (errCreating); older,
//     settle aborts it with a tombstone record, create-only;
//   - otherwise (no such member, guild disbanded or gone) the claim is stale
//     and settle deletes it, guarded by the claim's ETag.
func (a *App) settle(ctx context.Context, p gamemesh.PlayerID) (*guildRec, error) {
	for attempt := range maxAttempts {
		if attempt > 0 {
			if err := functions.Backoff(ctx, attempt); err != nil {
				return nil, functions.StoreError(err, "guild busy")
			}
		}
		c, cEtag, err := a.loadClaim(ctx, p)
		if err != nil || c == nil {
			return nil, err
		}
		g, _, err := a.loadGuild(ctx, c.Guild)
		if err != nil {
			return nil, err
		}
		switch {
		case g == nil && c.Create && a.now().Sub(time.UnixMilli(c.AtMs)) < a.cfg.PendingGrace:
			return nil, errCreating
		case g == nil && c.Create:
			a.log.InfoContext(ctx, "aborting an interrupted guild creation", "player", p, "guild", c.Guild)
			if err := a.abortCreation(ctx, c.Guild); err != nil && !errors.Is(err, gamemesh.ErrConflict) {
				return nil, err
			}
			continue // the record exists now, aborted or not: decide again
		case g != nil && g.active() && g.member(p) != nil:
			return g, nil
		case g != nil && g.active() && g.Reserved[string(p)] != nil && g.Reserved[string(p)].Token == c.Token:
			res, err := a.commit(ctx, c.Guild, p, c.Token)
			if err != nil {
				return nil, err
			}
			if res.g != nil {
				return res.g, nil
			}
			continue // cancelled: the claim is stale now
		}
		// Stale: the guild does not list p and never will with this token.
		if err := a.deleteKey(ctx, claimKey(p), cEtag); err != nil && !errors.Is(err, gamemesh.ErrConflict) {
			return nil, err
		}
		a.log.DebugContext(ctx, "released a stale membership claim", "player", p, "guild", c.Guild)
	}
	return nil, errBusy
}

// acquireClaim makes want p's membership claim, create-only, and returns the
// token of the claim held. A claim already held for the same guild by the
// same join (same token) or the same creation is adopted. Any other claim is
// settled: if it holds, acquireClaim fails with errInGuild (errAlreadyHere
// when it is for want.Guild itself) or errCreating; if stale, it is removed
// and the creation tried again.
func (a *App) acquireClaim(ctx context.Context, p gamemesh.PlayerID, want claimRec) (string, error) {
	for range maxAttempts {
		err := a.setJSON(ctx, claimKey(p), want, gamemesh.SetOptions{})
		if err == nil {
			return want.Token, nil
		}
		if !errors.Is(err, gamemesh.ErrConflict) {
			return "", err
		}
		c, _, err := a.loadClaim(ctx, p)
		if err != nil {
			return "", err
		}
		if c == nil {
			continue
		}
		if c.Guild == want.Guild && (c.Token == want.Token || c.Create && want.Create) {
			return c.Token, nil
		}
		g, err := a.settle(ctx, p)
		if err != nil {
			return "", err
		}
		if g != nil {
			if g.ID == want.Guild {
				return "", errAlreadyHere
			}
			return "", errInGuild
		}
	}
	return "", errBusy
}

// freeClaim deletes p's claim if it still is the one for guild id with
// token. It is cleanup after the guild record changed (leave, kick, disband,
// a cancelled join): a failure only leaves a stale claim that settle removes
// later, so it is logged, not returned.
func (a *App) freeClaim(ctx context.Context, p gamemesh.PlayerID, id, token string) {
	for range 4 {
		c, etag, err := a.loadClaim(ctx, p)
		if err == nil && (c == nil || c.Guild != id || c.Token != token) {
			return
		}
		if err == nil {
			err = a.deleteKey(ctx, claimKey(p), etag)
			if err == nil {
				return
			}
		}
		if !errors.Is(err, gamemesh.ErrConflict) {
			a.log.WarnContext(ctx, "membership claim not released; settle will", "player", p, "guild", id, "err", err)
			return
		}
	}
}
