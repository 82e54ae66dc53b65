package dapr

import (
	"sync"
	"time"
)

// attemptTracker counts deliveries per event so that a subscription's
// MaxAttempts can be honoured on top of the sidecar's redeliveries. Counts
// live in memory: after an app restart an event starts again from 1 (delivery
// is at least once either way). Entries idle for longer than ttl are swept.
type attemptTracker struct {
	ttl time.Duration

	mu        sync.Mutex
	m         map[string]attemptEntry
	lastSweep time.Time
}

type attemptEntry struct {
	n    int
	seen time.Time
}

func newAttemptTracker(ttl time.Duration) *attemptTracker {
	return &attemptTracker{ttl: ttl, m: map[string]attemptEntry{}}
}

// next records one more delivery of key and returns its number (1 = first).
func (t *attemptTracker) next(key string, now time.Time) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Sub(t.lastSweep) > t.ttl/2 {
		for k, e := range t.m {
			if now.Sub(e.seen) > t.ttl {
				delete(t.m, k)
			}
		}
		t.lastSweep = now
	}
	e := t.m[key]
	e.n++
	e.seen = now
	t.m[key] = e
	return e.n
}

// undo takes back the last delivery of key (a delivery that must not count).
func (t *attemptTracker) undo(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.m[key]; ok && e.n > 0 {
		e.n--
		t.m[key] = e
	}
}

// forget drops key once its event is settled.
func (t *attemptTracker) forget(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, key)
}

func (t *attemptTracker) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}
