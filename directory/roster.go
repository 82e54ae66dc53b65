package directory

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// Member is one running process of the cluster as it announces itself: gates,
// scene hosts, function processes, the IDIP app. Operators' tools and other
// processes read the roster to find peers (the gates to broadcast a notice
// to, the least-loaded scene host) and to see what every process reports
// (online count, feature-switch versions, Lua generations).
type Member struct {
	// ID is unique in the cluster, e.g. "gate-1", "scene-2".
	ID string `json:"id"`
	// Kind is the role: KindGate, KindScene, KindFunctions, KindIDIP.
	Kind string `json:"kind"`
	// Addr is where peers reach the member (a scene host's gRPC link), if anywhere.
	Addr string `json:"addr,omitempty"`
	// Info is what the member reports, by key (see the Info* keys).
	Info map[string]string `json:"info,omitempty"`
	// SeenAt is when the member last announced itself (set by the roster).
	SeenAt time.Time `json:"seen_at"`
}

// Member kinds.
const (
	KindGate      = "gate"
	KindScene     = "scene"
	KindFunctions = "functions"
	KindIDIP      = "idip"
)

// Info keys every process may report. A key starting with InfoConfigPrefix
// holds the version of that configuration key the process has applied (for
// "has every process converged?"); InfoLuaPrefix + module holds the Lua
// generation it runs ("number:hash").
const (
	InfoOnline       = "online"     // players held (gates, scene hosts)
	InfoLoad         = "load"       // a host's load, higher is busier (scene hosts)
	InfoConfigPrefix = "config:"    // + config key → applied version
	InfoLuaPrefix    = "lua:"       // + module → "generation:hash"
	InfoStarted      = "started_at" // RFC 3339
)

// InfoLuaCanaryPrefix + module holds the Lua generation a process is trying
// on a share of its calls ("number:hash"), while one is on canary.
const InfoLuaCanaryPrefix = "lua-canary:"

// DefaultMemberTTL is how long a member counts as alive after its last
// announcement; announcers refresh at a third of it.
const DefaultMemberTTL = 15 * time.Second

// MemoryRoster is the in-process roster (embedded mode: one process, but the
// same code paths as a cluster). Members not heard from within TTL are
// absent. The zero value is not usable; call NewMemoryRoster.
type MemoryRoster struct {
	ttl time.Duration
	now func() time.Time
	mu  sync.Mutex
	m   map[string]Member
}

// NewMemoryRoster returns an empty roster whose members expire ttl after
// their last announcement (DefaultMemberTTL when ttl is 0).
func NewMemoryRoster(ttl time.Duration) *MemoryRoster {
	if ttl <= 0 {
		ttl = DefaultMemberTTL
	}
	return &MemoryRoster{ttl: ttl, now: time.Now, m: map[string]Member{}}
}

// Announce records m (replacing what m.ID announced before) with SeenAt now.
func (r *MemoryRoster) Announce(_ context.Context, m Member) error {
	if err := m.validate(); err != nil {
		return err
	}
	m.Info = maps.Clone(m.Info)
	m.SeenAt = r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[m.ID] = m
	return nil
}

// Leave removes the member id (a process stopping gracefully).
func (r *MemoryRoster) Leave(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, id)
	return nil
}

// Members returns the live members of kind (every kind when kind is ""),
// sorted by ID.
func (r *MemoryRoster) Members(_ context.Context, kind string) ([]Member, error) {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Member
	for id, m := range r.m {
		if now.Sub(m.SeenAt) > r.ttl {
			delete(r.m, id)
			continue
		}
		if kind == "" || m.Kind == kind {
			m.Info = maps.Clone(m.Info)
			out = append(out, m)
		}
	}
	SortMembers(out)
	return out, nil
}

// SortMembers orders members by ID.
func SortMembers(ms []Member) {
	slices.SortFunc(ms, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
}

func (m Member) validate() error {
	if m.ID == "" || len(m.ID) > 128 || m.Kind == "" || len(m.Kind) > 32 {
		return errBadMember
	}
	return nil
}

var errBadMember = memberError("directory: a member needs an ID (≤ 128 bytes) and a Kind (≤ 32 bytes)")

type memberError string

func (e memberError) Error() string { return string(e) }
