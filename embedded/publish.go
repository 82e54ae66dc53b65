package embedded

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gamemesh/gamemesh"
)

// MaxNameLen is the longest topic or group name, in bytes.
const MaxNameLen = 255

// Publisher returns the event publisher of db. Publish returns once the event
// is committed to the file (fsynced): it survives Close, a crash or kill -9.
//
// An event is queued for every group that ever subscribed to its topic (the
// groups are kept in the file), so a group that is not running now receives it
// when it subscribes again. An event published to a topic no group has ever
// subscribed to is kept aside, and every group that later subscribes to the
// topic for the first time receives a copy. Dead letters with no subscriber
// are kept the same way.
func (db *DB) Publisher() gamemesh.Publisher { return publisher{db} }

type publisher struct{ db *DB }

// Publish implements gamemesh.Publisher.
func (p publisher) Publish(ctx context.Context, topic string, ev gamemesh.Event) error {
	if err := p.db.begin(ctx); err != nil {
		return err
	}
	if err := checkEvent(topic, ev); err != nil {
		return err
	}
	if err := p.db.write(func(tx *bolt.Tx) error { return enqueue(tx, topic, ev, time.Now()) }); err != nil {
		return err
	}
	p.db.wake(topic)
	return nil
}

// SetAndPublish writes value under key (guarded by opts, as Store.Set) and
// publishes ev on topic in one transaction: both happen or neither does. A
// failed ETag guard returns CONFLICT and publishes nothing.
func (db *DB) SetAndPublish(ctx context.Context, key string, value []byte, opts gamemesh.SetOptions, topic string, ev gamemesh.Event) error {
	if err := db.begin(ctx); err != nil {
		return err
	}
	if err := checkSet(key, opts); err != nil {
		return err
	}
	if err := checkEvent(topic, ev); err != nil {
		return err
	}
	var result error
	err := db.write(func(tx *bolt.Tx) error {
		now := time.Now()
		result = applySet(tx, key, value, opts, now)
		if result == errConflict {
			return nil // nothing was written: commit the empty transaction
		}
		if result != nil {
			return result
		}
		return enqueue(tx, topic, ev, now)
	})
	if err != nil {
		return err
	}
	if result != nil {
		return result
	}
	db.wake(topic)
	return nil
}

func checkName(what, name string) error {
	if name == "" || len(name) > MaxNameLen {
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "%s name must be 1 to %d bytes, got %d", what, MaxNameLen, len(name))
	}
	return nil
}

func checkEvent(topic string, ev gamemesh.Event) error {
	if err := checkName("topic", topic); err != nil {
		return err
	}
	if ev.ID == "" {
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "event id is required")
	}
	return nil
}

// enqueue adds ev to the queue of every group known for topic, due now, or
// keeps it aside as unclaimed when the topic has no group yet.
func enqueue(tx *bolt.Tx, topic string, ev gamemesh.Event, now time.Time) error {
	rec := encodeEvent(0, ev)
	groups := tx.Bucket(bucketGroups).Bucket([]byte(topic))
	if groups == nil || firstKey(groups) == nil {
		b, err := tx.Bucket(bucketUnclaimed).CreateBucketIfNotExists([]byte(topic))
		if err != nil {
			return fmt.Errorf("unclaimed bucket of %q: %w", topic, err)
		}
		seq, err := b.NextSequence()
		if err != nil {
			return fmt.Errorf("sequence of %q: %w", topic, err)
		}
		return b.Put(seqKey(seq), rec)
	}
	return groups.ForEach(func(group, _ []byte) error {
		q, err := queueBucket(tx, topic, string(group))
		if err != nil {
			return err
		}
		seq, err := q.NextSequence()
		if err != nil {
			return fmt.Errorf("sequence of %q/%q: %w", topic, group, err)
		}
		return q.Put(queueKey(now.UnixNano(), seq), rec)
	})
}

// queueBucket returns (creating) the queue of group on topic.
func queueBucket(tx *bolt.Tx, topic, group string) (*bolt.Bucket, error) {
	t, err := tx.Bucket(bucketQueues).CreateBucketIfNotExists([]byte(topic))
	if err != nil {
		return nil, fmt.Errorf("queue bucket of %q: %w", topic, err)
	}
	q, err := t.CreateBucketIfNotExists([]byte(group))
	if err != nil {
		return nil, fmt.Errorf("queue bucket of %q/%q: %w", topic, group, err)
	}
	return q, nil
}

// wake tells the delivery loops of topic that new events are due.
func (db *DB) wake(topic string) {
	db.mu.Lock()
	defer db.mu.Unlock()
	for _, l := range db.loops[topic] {
		l.signal()
	}
}

func firstKey(b *bolt.Bucket) []byte {
	k, _ := b.Cursor().First()
	return k
}
