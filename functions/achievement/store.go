package achievement

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
)

// progressUpdate shapes the read-modify-write loop of a player's record. One
// key per player is contended only by that player's own concurrent events.
var progressUpdate = functions.UpdateOptions{
	MaxAttempts: 32,
	Busy:        gamemesh.Errorf(gamemesh.CodeConflict, "achievement record busy, retry"),
	What:        "achievement",
}

// load reads a player's record; a missing one is empty.
func (a *App) load(ctx context.Context, p gamemesh.PlayerID) (*progressRec, error) {
	key := progressKey(string(p))
	item, exists, err := functions.Read(ctx, a.store, key, progressUpdate.What)
	if err != nil {
		return nil, err
	}
	return decodeProgress(key, item.Value, exists)
}

// decodeProgress decodes the stored value of key; a missing record is empty.
func decodeProgress(key string, val []byte, exists bool) (*progressRec, error) {
	var r progressRec
	if !exists {
		return &r, nil
	}
	if err := json.Unmarshal(val, &r); err != nil {
		return nil, gamemesh.Wrap(gamemesh.CodeInternal, fmt.Errorf("decode %s: %w", key, err), "corrupt achievement data")
	}
	return &r, nil
}

// update runs fn on p's record with functions.Update (create-only when
// missing). fn returns whether to write; it may run several times and must
// set its results afresh each time. fn's error is returned as is, with
// nothing written. It returns the record as stored after the call.
func (a *App) update(ctx context.Context, p gamemesh.PlayerID, fn func(r *progressRec) (bool, error)) (*progressRec, error) {
	key := progressKey(string(p))
	var r *progressRec
	_, err := functions.Update(ctx, a.store, key, progressUpdate, func(cur []byte, exists bool) (*functions.Write, error) {
		var err error
		if r, err = decodeProgress(key, cur, exists); err != nil {
			return nil, err
		}
		write, err := fn(r)
		if err != nil || !write {
			return nil, err
		}
		val, err := json.Marshal(r)
		if err != nil {
			return nil, gamemesh.Wrap(gamemesh.CodeInternal, fmt.Errorf("encode %s: %w", key, err), "encoding achievement data")
		}
		return &functions.Write{Value: val}, nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}
