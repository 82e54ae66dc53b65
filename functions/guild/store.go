package guild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/gamemesh/gamemesh"
)

// maxAttempts bounds an ETag read-modify-write loop on CONFLICT. A guild
// record is the contention point of every join into that guild, so the bound
// is generous; the caller's deadline usually ends the loop first.
const maxAttempts = 64

var (
	errNoGuild   = gamemesh.Errorf(gamemesh.CodeNotFound, "no such guild")
	errDisbanded = gamemesh.Errorf(gamemesh.CodeNotFound, "guild has been disbanded")
	errBusy      = gamemesh.Errorf(gamemesh.CodeConflict, "guild busy, retry")
)

// storeErr turns a store failure into a client-facing error: a deadline stays
// DEADLINE_EXCEEDED, anything else is UNAVAILABLE (retry later).
func storeErr(err error, what string) error {
	if gamemesh.CodeOf(err) == gamemesh.CodeDeadlineExceeded {
		return gamemesh.Wrap(gamemesh.CodeDeadlineExceeded, err, what)
	}
	return gamemesh.Wrap(gamemesh.CodeUnavailable, err, what)
}

// getJSON reads key into v; found is false (and the error nil) when the key
// is missing.
func (a *App) getJSON(ctx context.Context, key string, v any) (etag string, found bool, err error) {
	item, err := a.store.Get(ctx, key)
	if errors.Is(err, gamemesh.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, storeErr(fmt.Errorf("get %s: %w", key, err), "guild store unavailable")
	}
	if err := json.Unmarshal(item.Value, v); err != nil {
		return "", false, gamemesh.Wrap(gamemesh.CodeInternal, fmt.Errorf("decode %s: %w", key, err), "corrupt guild data")
	}
	return item.ETag, true, nil
}

// setJSON writes v under key guarded by opts. A CONFLICT is returned as is
// (matching gamemesh.ErrConflict): the caller re-reads and decides.
func (a *App) setJSON(ctx context.Context, key string, v any, opts gamemesh.SetOptions) error {
	val, err := json.Marshal(v)
	if err != nil {
		return gamemesh.Wrap(gamemesh.CodeInternal, fmt.Errorf("encode %s: %w", key, err), "encoding guild data")
	}
	err = a.store.Set(ctx, key, val, opts)
	if err == nil || errors.Is(err, gamemesh.ErrConflict) {
		return err
	}
	return storeErr(fmt.Errorf("set %s: %w", key, err), "guild store unavailable")
}

// deleteKey deletes key if it still has etag; CONFLICT is returned as is.
func (a *App) deleteKey(ctx context.Context, key, etag string) error {
	err := a.store.Delete(ctx, key, etag)
	if err == nil || errors.Is(err, gamemesh.ErrConflict) {
		return err
	}
	return storeErr(fmt.Errorf("delete %s: %w", key, err), "guild store unavailable")
}

// loadGuild reads a guild record as of now (expired applications,
// invitations and log entries dropped); nil when it does not exist.
func (a *App) loadGuild(ctx context.Context, id string) (*guildRec, string, error) {
	var g guildRec
	etag, found, err := a.getJSON(ctx, guildKey(id), &g)
	if err != nil || !found {
		return nil, "", err
	}
	g.sweep(a.now(), a.cfg.ApplicationTTL)
	g.initMaps()
	return &g, etag, nil
}

// liveGuild reads a guild that must exist and be active.
func (a *App) liveGuild(ctx context.Context, id string) (*guildRec, error) {
	g, _, err := a.loadGuild(ctx, id)
	if err != nil {
		return nil, err
	}
	if g == nil || g.State == stateAborted {
		return nil, errNoGuild
	}
	if !g.active() {
		return nil, errDisbanded
	}
	return g, nil
}

// updateGuild runs fn on guild id in an ETag read-modify-write loop. fn sees
// the record as of now (dead ones included) and returns whether to write it;
// it may run several times and must set its results afresh each time. fn's
// error is returned as is, with nothing written. A missing record is
// errNoGuild. Before a write, stale reservations are dropped and the
// invariants checked; a dead record is written with the tombstone TTL.
func (a *App) updateGuild(ctx context.Context, id string, fn func(g *guildRec) (bool, error)) (*guildRec, error) {
	key := guildKey(id)
	for attempt := range maxAttempts {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return nil, storeErr(err, "guild busy")
			}
		}
		g, etag, err := a.loadGuild(ctx, id)
		if err != nil {
			return nil, err
		}
		if g == nil {
			return nil, errNoGuild
		}
		write, err := fn(g)
		if err != nil {
			return nil, err
		}
		if !write {
			return g, nil
		}
		now := a.now()
		g.dropStaleReservations(now, a.cfg.ReserveTTL)
		if err := g.check(); err != nil {
			a.log.ErrorContext(ctx, "refusing a write that breaks a guild invariant", "guild", id, "err", err)
			return nil, gamemesh.Wrap(gamemesh.CodeInternal, err, "internal error")
		}
		opts := gamemesh.SetOptions{ETag: etag}
		if !g.active() {
			opts.TTL = a.cfg.TombstoneTTL
		}
		err = a.setJSON(ctx, key, g, opts)
		if err == nil {
			return g, nil
		}
		if !errors.Is(err, gamemesh.ErrConflict) {
			return nil, err
		}
	}
	return nil, errBusy
}

// backoff sleeps a short random time growing with attempt (capped), to
// spread contending writers of one key.
func backoff(ctx context.Context, attempt int) error {
	span := int64(min(attempt, 10)) * int64(time.Millisecond)
	t := time.NewTimer(time.Duration(rand.Int64N(span + 1)))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
