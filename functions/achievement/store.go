package achievement

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/gamemesh/gamemesh"
)

// maxAttempts bounds an ETag read-modify-write loop on CONFLICT. One key per
// player is contended only by that player's own concurrent events.
const maxAttempts = 32

var errBusy = gamemesh.Errorf(gamemesh.CodeConflict, "achievement record busy, retry")

// storeErr turns a store failure into a client-facing error: a deadline stays
// DEADLINE_EXCEEDED, anything else is UNAVAILABLE (retry later).
func storeErr(err error, what string) error {
	if gamemesh.CodeOf(err) == gamemesh.CodeDeadlineExceeded {
		return gamemesh.Wrap(gamemesh.CodeDeadlineExceeded, err, what)
	}
	return gamemesh.Wrap(gamemesh.CodeUnavailable, err, what)
}

// load reads a player's record; a missing one is empty with etag "".
func (a *App) load(ctx context.Context, p gamemesh.PlayerID) (*progressRec, string, error) {
	key := progressKey(string(p))
	item, err := a.store.Get(ctx, key)
	if errors.Is(err, gamemesh.ErrNotFound) {
		return &progressRec{}, "", nil
	}
	if err != nil {
		return nil, "", storeErr(fmt.Errorf("get %s: %w", key, err), "achievement store unavailable")
	}
	var r progressRec
	if err := json.Unmarshal(item.Value, &r); err != nil {
		return nil, "", gamemesh.Wrap(gamemesh.CodeInternal, fmt.Errorf("decode %s: %w", key, err), "corrupt achievement data")
	}
	return &r, item.ETag, nil
}

// update runs fn on p's record in an ETag read-modify-write loop. fn returns
// whether to write; it may run several times and must set its results afresh
// each time. fn's error is returned as is, with nothing written.
func (a *App) update(ctx context.Context, p gamemesh.PlayerID, fn func(r *progressRec) (bool, error)) (*progressRec, error) {
	key := progressKey(string(p))
	for attempt := range maxAttempts {
		if attempt > 0 {
			if err := backoff(ctx, attempt); err != nil {
				return nil, storeErr(err, "achievement record busy")
			}
		}
		r, etag, err := a.load(ctx, p)
		if err != nil {
			return nil, err
		}
		write, err := fn(r)
		if err != nil || !write {
			return r, err
		}
		val, err := json.Marshal(r)
		if err != nil {
			return nil, gamemesh.Wrap(gamemesh.CodeInternal, fmt.Errorf("encode %s: %w", key, err), "encoding achievement data")
		}
		err = a.store.Set(ctx, key, val, gamemesh.SetOptions{ETag: etag})
		if err == nil {
			return r, nil
		}
		if !errors.Is(err, gamemesh.ErrConflict) {
			return nil, storeErr(fmt.Errorf("set %s: %w", key, err), "achievement store unavailable")
		}
	}
	return nil, errBusy
}

// backoff sleeps a short random time growing with attempt (capped).
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
