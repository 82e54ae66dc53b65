package embedded

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// sweepBatch is the most expired keys one sweep transaction deletes.
const sweepBatch = 1000

// sweepLoop deletes expired keys every interval until db is closed.
func (db *DB) sweepLoop(interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-db.ctx.Done():
			return
		case <-tick.C:
		}
		for {
			n, err := db.sweep(time.Now())
			if err != nil {
				db.log.Warn("sweeping expired keys", "err", err)
				break
			}
			if n < sweepBatch || db.ctx.Err() != nil {
				break
			}
		}
	}
}

// sweep deletes up to sweepBatch keys that expired before now and returns how
// many it deleted.
func (db *DB) sweep(now time.Time) (int, error) {
	var n int
	err := db.write(func(tx *bolt.Tx) error {
		n = 0
		kv, ttl := tx.Bucket(bucketKV), tx.Bucket(bucketKVTTL)
		limit := binary.BigEndian.AppendUint64(nil, uint64(now.UnixNano()))
		var due [][]byte
		c := ttl.Cursor()
		for k, _ := c.First(); k != nil && len(due) < sweepBatch; k, _ = c.Next() {
			if bytes.Compare(k[:8], limit) > 0 {
				break
			}
			due = append(due, bytes.Clone(k))
		}
		for _, k := range due {
			key := k[8:]
			// The index entry is exact (rewrites drop the old one), but check
			// the record anyway before deleting a value.
			if raw := kv.Get(key); raw != nil {
				if rec, err := decodeKV(raw); err == nil && rec.expired(now) {
					if err := kv.Delete(key); err != nil {
						return fmt.Errorf("delete expired %q: %w", key, err)
					}
				}
			}
			if err := ttl.Delete(k); err != nil {
				return fmt.Errorf("unindex %q: %w", key, err)
			}
			n++
		}
		return nil
	})
	return n, err
}
