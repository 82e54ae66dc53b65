package redisdir

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/directory"
)

// DefaultRosterKey is the Redis hash holding the roster: field = member id,
// value = the member as JSON.
const DefaultRosterKey = "gamemesh:roster"

// Roster is the cluster's roster in one Redis hash. A member is alive while
// its last announcement is younger than TTL; entries much older than that
// (a process killed without leaving) are pruned by readers. SeenAt is the
// announcer's clock: the processes of one cluster are assumed to agree on
// the time to well within a TTL.
type Roster struct {
	c   redis.UniversalClient
	key string
	ttl time.Duration
	now func() time.Time
}

// NewRoster returns a roster over c in the hash key (DefaultRosterKey when
// empty) whose members expire ttl after their last announcement
// (directory.DefaultMemberTTL when 0).
func NewRoster(c redis.UniversalClient, key string, ttl time.Duration) *Roster {
	if key == "" {
		key = DefaultRosterKey
	}
	if ttl <= 0 {
		ttl = directory.DefaultMemberTTL
	}
	return &Roster{c: c, key: key, ttl: ttl, now: time.Now}
}

// Announce records m with SeenAt now.
func (r *Roster) Announce(ctx context.Context, m directory.Member) error {
	if m.ID == "" || m.Kind == "" {
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "roster: a member needs an ID and a Kind")
	}
	m.SeenAt = r.now().UTC()
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("roster: %w", err)
	}
	if err := r.c.HSet(ctx, r.key, m.ID, b).Err(); err != nil {
		return gamemesh.Wrap(gamemesh.CodeUnavailable, err, "roster: announcing "+m.ID)
	}
	return nil
}

// Leave removes the member id.
func (r *Roster) Leave(ctx context.Context, id string) error {
	if err := r.c.HDel(ctx, r.key, id).Err(); err != nil {
		return gamemesh.Wrap(gamemesh.CodeUnavailable, err, "roster: removing "+id)
	}
	return nil
}

// Members returns the live members of kind (all kinds when ""), sorted by ID.
// Entries older than four TTLs are deleted on the way.
func (r *Roster) Members(ctx context.Context, kind string) ([]directory.Member, error) {
	all, err := r.c.HGetAll(ctx, r.key).Result()
	if err != nil {
		return nil, gamemesh.Wrap(gamemesh.CodeUnavailable, err, "roster: reading members")
	}
	now := r.now()
	var out []directory.Member
	var stale []string
	for id, raw := range all {
		var m directory.Member
		if err := json.Unmarshal([]byte(raw), &m); err != nil || m.ID != id {
			stale = append(stale, id) // not ours, or torn: nobody can use it
			continue
		}
		age := now.Sub(m.SeenAt)
		if age > 4*r.ttl {
			stale = append(stale, id)
		}
		if age > r.ttl {
			continue
		}
		if kind == "" || m.Kind == kind {
			out = append(out, m)
		}
	}
	if len(stale) > 0 {
		_ = r.c.HDel(ctx, r.key, stale...).Err() // best effort: the next reader retries
	}
	directory.SortMembers(out)
	return out, nil
}
