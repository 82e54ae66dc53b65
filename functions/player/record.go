package player

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// recordUpdate shapes the read-modify-write loop of a record.
var recordUpdate = functions.UpdateOptions{
	MaxAttempts: 16,
	Busy:        gamemesh.Errorf(gamemesh.CodeConflict, "player record busy, retry"),
	What:        "player",
}

func recordKey(player gamemesh.PlayerID) string { return "player/rec/" + string(player) }

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

// decode decodes the stored record of player; a missing one is a new one.
func (a *App) decode(player gamemesh.PlayerID, val []byte, exists bool) (*gamev1.PlayerRecord, error) {
	if !exists {
		return a.newRecord(player), nil
	}
	rec := new(gamev1.PlayerRecord)
	if err := proto.Unmarshal(val, rec); err != nil {
		return nil, gamemesh.Wrap(gamemesh.CodeInternal, fmt.Errorf("decode %s: %w", recordKey(player), err), "corrupt player record")
	}
	if rec.Inventory == nil {
		rec.Inventory = map[string]int64{}
	}
	return rec, nil
}

// update runs fn on the record of player with functions.Update; a missing
// record is created (create-only) even when fn changes nothing. fn returns
// whether to write and may run several times. It returns the record as
// stored after the call.
func (a *App) update(ctx context.Context, player gamemesh.PlayerID, fn func(rec *gamev1.PlayerRecord) bool) (*gamev1.PlayerRecord, error) {
	var rec *gamev1.PlayerRecord
	_, err := functions.Update(ctx, a.store, recordKey(player), recordUpdate, func(cur []byte, exists bool) (*functions.Write, error) {
		var err error
		if rec, err = a.decode(player, cur, exists); err != nil {
			return nil, err
		}
		if !fn(rec) && exists {
			return nil, nil
		}
		val, err := proto.MarshalOptions{Deterministic: true}.Marshal(rec)
		if err != nil {
			return nil, gamemesh.Wrap(gamemesh.CodeInternal, fmt.Errorf("encode %s: %w", recordKey(player), err), "encoding player record")
		}
		return &functions.Write{Value: val}, nil
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}
