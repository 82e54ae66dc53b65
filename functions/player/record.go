package player

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// maxAttempts bounds the read-modify-write loop of a record on CONFLICT.
const maxAttempts = 16

func recordKey(player gamemesh.PlayerID) string { return "player/rec/" + string(player) }

// storeErr turns a store failure into a client-facing error: a deadline stays
// DEADLINE_EXCEEDED, anything else is UNAVAILABLE (retry later).
func storeErr(err error, what string) error {
	if gamemesh.CodeOf(err) == gamemesh.CodeDeadlineExceeded {
		return gamemesh.Wrap(gamemesh.CodeDeadlineExceeded, err, what)
	}
	return gamemesh.Wrap(gamemesh.CodeUnavailable, err, what)
}

// newRecord is the record of a player seen for the first time.
func (a *App) newRecord(player gamemesh.PlayerID) *gamev1.PlayerRecord {
	name := string(player)
	if len(name) > 6 {
		name = name[len(name)-6:]
	}
	return &gamev1.PlayerRecord{
		PlayerId:    string(player),
		Name:        "player-" + name,
		Level:       1,
		CreatedAtMs: a.now().UnixMilli(),
		Inventory:   map[string]int64{},
	}
}

// load reads the record of player; a missing record is a new one with ETag "".
func (a *App) load(ctx context.Context, player gamemesh.PlayerID) (*gamev1.PlayerRecord, string, error) {
	key := recordKey(player)
	item, err := a.store.Get(ctx, key)
	if errors.Is(err, gamemesh.ErrNotFound) {
		return a.newRecord(player), "", nil
	}
	if err != nil {
		return nil, "", storeErr(fmt.Errorf("get %s: %w", key, err), "player store unavailable")
	}
	rec := new(gamev1.PlayerRecord)
	if err := proto.Unmarshal(item.Value, rec); err != nil {
		return nil, "", gamemesh.Wrap(gamemesh.CodeInternal, fmt.Errorf("decode %s: %w", key, err), "corrupt player record")
	}
	if rec.Inventory == nil {
		rec.Inventory = map[string]int64{}
	}
	return rec, item.ETag, nil
}

// update runs fn on the record of player in an ETag read-modify-write loop;
// a missing record is created (create-only). fn returns whether to write and
// may run several times. It returns the record as stored after the call.
func (a *App) update(ctx context.Context, player gamemesh.PlayerID, fn func(rec *gamev1.PlayerRecord) bool) (*gamev1.PlayerRecord, error) {
	key := recordKey(player)
	for range maxAttempts {
		rec, etag, err := a.load(ctx, player)
		if err != nil {
			return nil, err
		}
		if !fn(rec) && etag != "" {
			return rec, nil
		}
		val, err := proto.MarshalOptions{Deterministic: true}.Marshal(rec)
		if err != nil {
			return nil, gamemesh.Wrap(gamemesh.CodeInternal, fmt.Errorf("encode %s: %w", key, err), "encoding player record")
		}
		err = a.store.Set(ctx, key, val, gamemesh.SetOptions{ETag: etag})
		if err == nil {
			return rec, nil
		}
		if !errors.Is(err, gamemesh.ErrConflict) {
			return nil, storeErr(fmt.Errorf("set %s: %w", key, err), "player store unavailable")
		}
	}
	return nil, gamemesh.Errorf(gamemesh.CodeConflict, "player record busy, retry")
}
