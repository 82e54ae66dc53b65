package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gamemesh/gamemesh"
)

// SharedTTL bounds how long an entry outlives a gate that died without
// unregistering its players.
const SharedTTL = 24 * time.Hour

// Shared is a directory kept in a gamemesh.Store that several processes share
// (in Dapr mode, the "sharedstate" component), so that functions find the gate
// of a player connected to another process. Entries are one key per player,
// read then written (not atomic) and never refreshed: an entry outlives a dead
// gate by up to SharedTTL and a session longer than that loses its pushes.
// Dapr mode uses redisdir.Online instead (atomic, heartbeated TTLs).
type Shared struct {
	Store  gamemesh.Store
	Prefix string
}

type sharedEntry struct {
	Gate    string `json:"gate"`
	Session string `json:"session"`
}

func (s Shared) key(player gamemesh.PlayerID) string { return s.Prefix + string(player) }

// Register records that player is at loc and returns where it was before.
func (s Shared) Register(ctx context.Context, player gamemesh.PlayerID, loc Location) (Location, error) {
	prev, err := s.Locate(ctx, player)
	if err != nil && !errors.Is(err, gamemesh.ErrNotFound) {
		return Location{}, err
	}
	val, err := json.Marshal(sharedEntry{Gate: loc.Gate, Session: loc.Session})
	if err != nil {
		return Location{}, fmt.Errorf("directory: %w", err)
	}
	if err := s.Store.Set(ctx, s.key(player), val, gamemesh.SetOptions{Unconditional: true, TTL: SharedTTL}); err != nil {
		return Location{}, fmt.Errorf("directory: register %s: %w", player, err)
	}
	return prev, nil
}

// Unregister removes player if it is still at session (guarded by the ETag
// read with it, so a newer registration is never removed).
func (s Shared) Unregister(ctx context.Context, player gamemesh.PlayerID, session string) error {
	item, err := s.Store.Get(ctx, s.key(player))
	if errors.Is(err, gamemesh.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("directory: unregister %s: %w", player, err)
	}
	var e sharedEntry
	if json.Unmarshal(item.Value, &e) != nil || e.Session != session {
		return nil
	}
	err = s.Store.Delete(ctx, s.key(player), item.ETag)
	if err != nil && !errors.Is(err, gamemesh.ErrConflict) { // conflict: a newer session registered
		return fmt.Errorf("directory: unregister %s: %w", player, err)
	}
	return nil
}

// Locate returns where player is, or an error matching gamemesh.ErrNotFound.
func (s Shared) Locate(ctx context.Context, player gamemesh.PlayerID) (Location, error) {
	item, err := s.Store.Get(ctx, s.key(player))
	if err != nil {
		if errors.Is(err, gamemesh.ErrNotFound) {
			return Location{}, gamemesh.Errorf(gamemesh.CodeNotFound, "player %s is offline", player)
		}
		return Location{}, fmt.Errorf("directory: locate %s: %w", player, err)
	}
	var e sharedEntry
	if err := json.Unmarshal(item.Value, &e); err != nil {
		return Location{}, fmt.Errorf("directory: corrupt entry for %s: %w", player, err)
	}
	return Location{Gate: e.Gate, Session: e.Session}, nil
}
