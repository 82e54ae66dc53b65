package bots

import (
	"math/rand/v2"
	"sync"

	"github.com/gamemesh/gamemesh"
)

// directory is the shared list of the player ids of the bots logged in so
// far: whom to mail.
type directory struct {
	mu   sync.RWMutex
	ids  []gamemesh.PlayerID
	seen map[gamemesh.PlayerID]bool
}

func newDirectory() *directory { return &directory{seen: make(map[gamemesh.PlayerID]bool)} }

func (d *directory) add(id gamemesh.PlayerID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.seen[id] {
		d.seen[id] = true
		d.ids = append(d.ids, id)
	}
}

// pick returns a random known player other than self, or self when none.
func (d *directory) pick(rng *rand.Rand, self gamemesh.PlayerID) gamemesh.PlayerID {
	d.mu.RLock()
	defer d.mu.RUnlock()
	n := len(d.ids)
	if n == 0 || n == 1 && d.ids[0] == self {
		return self
	}
	for {
		if id := d.ids[rng.IntN(n)]; id != self {
			return id
		}
	}
}
