package guild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
)

// maxAttempts bounds an ETag read-modify-write loop on CONFLICT. A guild
// record is the contention point of every join into that guild, so the bound
// is generous; the caller's deadline usually ends the loop first.
const maxAttempts = 64

// guildUpdate shapes the read-modify-write loop of a guild record.
var guildUpdate = functions.UpdateOptions{MaxAttempts: maxAttempts, Busy: errBusy, What: "guild"}

var (
	errNoGuild   = gamemesh.Errorf(gamemesh.CodeNotFound, "no such guild")
	errDisbanded = gamemesh.Errorf(gamemesh.CodeNotFound, "guild has been disbanded")
	errBusy      = gamemesh.Errorf(gamemesh.CodeConflict, "guild busy, retry")
)

// getJSON reads key into v; found is false (and the error nil) when the key
// is missing.
func (a *App) getJSON(ctx context.Context, key string, v any) (etag string, found bool, err error) {
	item, found, err := functions.Read(ctx, a.store, key, guildUpdate.What)
	if err != nil || !found {
		return "", false, err
	}
	if err := decodeJSON(key, item.Value, v); err != nil {
		return "", false, err
	}
	return item.ETag, true, nil
}

// decodeJSON decodes the stored value of key into v.
func decodeJSON(key string, val []byte, v any) error {
	if err := json.Unmarshal(val, v); err != nil {
		return gamemesh.Wrap(gamemesh.CodeInternal, fmt.Errorf("decode %s: %w", key, err), "corrupt guild data")
	}
	return nil
}

// encodeJSON encodes v, the next value of key.
func encodeJSON(key string, v any) ([]byte, error) {
	val, err := json.Marshal(v)
	if err != nil {
		return nil, gamemesh.Wrap(gamemesh.CodeInternal, fmt.Errorf("encode %s: %w", key, err), "encoding guild data")
	}
	return val, nil
}

// setJSON writes v under key guarded by opts. A CONFLICT is returned as is
// (matching gamemesh.ErrConflict): the caller re-reads and decides.
func (a *App) setJSON(ctx context.Context, key string, v any, opts gamemesh.SetOptions) error {
	val, err := encodeJSON(key, v)
	if err != nil {
		return err
	}
	err = a.store.Set(ctx, key, val, opts)
	if err == nil || errors.Is(err, gamemesh.ErrConflict) {
		return err
	}
	return functions.StoreError(fmt.Errorf("set %s: %w", key, err), "guild store unavailable")
}

// deleteKey deletes key if it still has etag; CONFLICT is returned as is.
func (a *App) deleteKey(ctx context.Context, key, etag string) error {
	err := a.store.Delete(ctx, key, etag)
	if err == nil || errors.Is(err, gamemesh.ErrConflict) {
		return err
	}
	return functions.StoreError(fmt.Errorf("delete %s: %w", key, err), "guild store unavailable")
}

// loadGuild reads a guild record as of now (expired applications,
// invitations and log entries dropped); nil when it does not exist.
func (a *App) loadGuild(ctx context.Context, id string) (*guildRec, string, error) {
	var g guildRec
	etag, found, err := a.getJSON(ctx, guildKey(id), &g)
	if err != nil || !found {
		return nil, "", err
	}
	a.asOfNow(&g)
	return &g, etag, nil
}

// asOfNow drops what has expired from a guild record just read.
func (a *App) asOfNow(g *guildRec) {
	g.sweep(a.now(), a.cfg.ApplicationTTL)
	g.initMaps()
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

// updateGuild runs fn on guild id with functions.Update. fn sees the record
// as of now (dead ones included) and returns whether to write it; it may run
// several times and must set its results afresh each time. fn's error is
// returned as is, with nothing written. A missing record is errNoGuild.
// Before a write, stale reservations are dropped and the invariants checked;
// a dead record is written with the tombstone TTL. It returns the record as
// stored after the call.
func (a *App) updateGuild(ctx context.Context, id string, fn func(g *guildRec) (bool, error)) (*guildRec, error) {
	key := guildKey(id)
	var g *guildRec
	_, err := functions.Update(ctx, a.store, key, guildUpdate, func(cur []byte, exists bool) (*functions.Write, error) {
		if !exists {
			return nil, errNoGuild
		}
		g = new(guildRec)
		if err := decodeJSON(key, cur, g); err != nil {
			return nil, err
		}
		a.asOfNow(g)
		write, err := fn(g)
		if err != nil || !write {
			return nil, err
		}
		g.dropStaleReservations(a.now(), a.cfg.ReserveTTL)
		if err := g.check(); err != nil {
			a.log.ErrorContext(ctx, "refusing a write that breaks a guild invariant", "guild", id, "err", err)
			return nil, gamemesh.Wrap(gamemesh.CodeInternal, err, "internal error")
		}
		w := &functions.Write{}
		if !g.active() {
			w.TTL = a.cfg.TombstoneTTL
		}
		w.Value, err = encodeJSON(key, g)
		return w, err
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}
