package mail

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
)

// Expiry buckets. The Store cannot list keys, so the sweep needs its own
// index of which boxes hold mail that expires when: the bucket of UTC day d
// lists every box that was given a mail expiring on day d. It is split in
// Config.ExpiryShards keys (by a hash of the player), so that the boxes of a
// busy day do not all contend for one key:
//
//	mail/expiry/<day>/<shard>   {"players": [...]}
//
// A box is added to the bucket BEFORE the mail is written to it, so a bucket
// always lists at least the boxes holding mail of its day (a crash between
// the two leaves an extra name, which the sweep visits for nothing). Bucket
// keys carry a TTL of their day plus bucketTTLSlack, so they vanish even if
// no sweep ever runs.

const (
	dayMs = int64(24 * time.Hour / time.Millisecond)
	// bucketTTLSlack keeps a bucket key this long after its day.
	bucketTTLSlack = 30 * 24 * time.Hour
	// maxRegistrations bounds the process's memory of buckets it wrote to.
	maxRegistrations = 200_000
)

// expiryDay is the UTC day (days since the Unix epoch) of a time in ms.
func expiryDay(ms int64) int64 { return ms / dayMs }

func bucketKey(day int64, shard int) string { return fmt.Sprintf("mail/expiry/%d/%03d", day, shard) }

// shardOf spreads players over the shards of a bucket.
func (a *App) shardOf(player gamemesh.PlayerID) int {
	h := fnv.New32a()
	h.Write([]byte(player))
	return int(h.Sum32() % uint32(a.cfg.ExpiryShards))
}

// bucketRec is the JSON value of a bucket shard.
type bucketRec struct {
	Players []string `json:"players,omitempty"`
}

var bucketUpdate = functions.UpdateOptions{
	MaxAttempts: 32,
	Busy:        gamemesh.Errorf(gamemesh.CodeConflict, "mail expiry index busy, retry"),
	What:        "mail",
}

// registrations remembers the (player, day) pairs this process has put in
// their bucket, to write each at most once; it forgets everything when full
// (a forgotten pair only costs a read of its bucket).
type registrations struct {
	mu   sync.Mutex
	seen map[regKey]struct{}
}

type regKey struct {
	player gamemesh.PlayerID
	day    int64
}

func (r *registrations) has(k regKey) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.seen[k]
	return ok
}

func (r *registrations) add(k regKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil || len(r.seen) >= maxRegistrations {
		r.seen = make(map[regKey]struct{})
	}
	r.seen[k] = struct{}{}
}

// listExpiry puts player's box in the bucket of the day of expiresAtMs.
func (a *App) listExpiry(ctx context.Context, player gamemesh.PlayerID, expiresAtMs int64) error {
	k := regKey{player, expiryDay(expiresAtMs)}
	if a.listed.has(k) {
		return nil
	}
	key := bucketKey(k.day, a.shardOf(player))
	ttl := time.Duration((k.day+1)*dayMs-a.now().UnixMilli())*time.Millisecond + bucketTTLSlack
	_, err := functions.Update(ctx, a.store, key, bucketUpdate, func(cur []byte, exists bool) (*functions.Write, error) {
		var br bucketRec
		if exists {
			if err := json.Unmarshal(cur, &br); err != nil {
				return nil, gamemesh.Wrap(gamemesh.CodeInternal, fmt.Errorf("decode %s: %w", key, err), "corrupt mail expiry index")
			}
		}
		if slices.Contains(br.Players, string(player)) {
			return nil, nil
		}
		br.Players = append(br.Players, string(player))
		val, err := json.Marshal(&br)
		if err != nil {
			return nil, gamemesh.Wrap(gamemesh.CodeInternal, fmt.Errorf("encode %s: %w", key, err), "encoding mail expiry index")
		}
		return &functions.Write{Value: val, TTL: ttl}, nil
	})
	if err != nil {
		return err
	}
	a.listed.add(k)
	return nil
}
