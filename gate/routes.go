package gate

import "sync"

// maxInterned bounds the route strings kept by a routeTable.
const maxInterned = 1024

// routeTable interns the route strings of incoming requests, so that a
// request to a known route allocates no string for it. A route is learnt
// once a call shows it exists (as the metrics' route labels are), at most
// maxInterned of them: made-up routes never take room.
type routeTable struct {
	mu sync.RWMutex
	m  map[string]string
}

// intern returns the interned copy of b, or "" when b is not a known route.
func (t *routeTable) intern(b []byte) string {
	t.mu.RLock()
	s := t.m[string(b)] // no allocation for the lookup
	t.mu.RUnlock()
	return s
}

// learn records route as known.
func (t *routeTable) learn(route string) {
	t.mu.RLock()
	_, ok := t.m[route]
	full := len(t.m) >= maxInterned
	t.mu.RUnlock()
	if ok || full {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = make(map[string]string)
	}
	if len(t.m) < maxInterned {
		t.m[route] = route
	}
}
