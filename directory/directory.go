package directory

import (
	"context"
	"sync"

	"github.com/gamemesh/gamemesh"
)

// Location is where an online player is connected.
type Location struct {
	Gate    string
	Session string
}

// Memory is an in-process directory for one process (embedded mode). Its zero
// value is not usable; call NewMemory.
type Memory struct {
	mu     sync.Mutex
	online map[gamemesh.PlayerID]Location
}

// NewMemory returns an empty in-process directory.
func NewMemory() *Memory {
	return &Memory{online: make(map[gamemesh.PlayerID]Location)}
}

// Register records that player is at loc and returns where it was before
// (zero Location if it was offline), so that the caller can kick the older session.
func (m *Memory) Register(_ context.Context, player gamemesh.PlayerID, loc Location) (Location, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	prev := m.online[player]
	m.online[player] = loc
	return prev, nil
}

// Unregister removes player if it is still at session (a newer session of the
// same player is left alone).
func (m *Memory) Unregister(_ context.Context, player gamemesh.PlayerID, session string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.online[player].Session == session {
		delete(m.online, player)
	}
	return nil
}

// Locate returns where player is, or an error matching gamemesh.ErrNotFound
// when it is offline.
func (m *Memory) Locate(_ context.Context, player gamemesh.PlayerID) (Location, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	loc, ok := m.online[player]
	if !ok {
		return Location{}, gamemesh.Errorf(gamemesh.CodeNotFound, "player %s is offline", player)
	}
	return loc, nil
}

// Online returns how many players are registered.
func (m *Memory) Online() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.online)
}
