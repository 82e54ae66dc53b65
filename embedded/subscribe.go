package embedded

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/gamemesh/gamemesh"
)

var _ gamemesh.Subscriber = (*DB)(nil)

// Subscribe implements gamemesh.Subscriber. It records s.Group as a group of
// s.Topic in the file (so events published while the group is not running are
// kept for it), hands it a copy of the topic's unclaimed events if the group is
// new, and starts delivering at once. Delivery runs until Close; ctx only
// bounds the registration. One (topic, group) pair may be subscribed once per
// DB.
//
// Delivery is at least once: up to a small number of events are handled
// concurrently (so their order is not guaranteed), a failed delivery is
// retried after s.RetryDelay with ev.Attempt increased, and after
// s.MaxAttempts failures the event moves to gamemesh.DeadLetterTopic(s.Topic)
// with the same ID. A handler that panics counts as a failure. Handlers get a
// context cancelled at Close; an event whose handler is interrupted by Close
// stays queued with its attempt count unchanged.
func (db *DB) Subscribe(ctx context.Context, s gamemesh.Subscription) error {
	if err := db.begin(ctx); err != nil {
		return err
	}
	if err := checkSubscription(s); err != nil {
		return err
	}
	if s.MaxAttempts == 0 {
		s.MaxAttempts = gamemesh.DefaultMaxAttempts
	}
	if s.RetryDelay == 0 {
		s.RetryDelay = gamemesh.DefaultRetryDelay
	}
	l := newDeliveryLoop(db, s)
	if err := db.reserve(l); err != nil {
		return err
	}
	err := db.write(func(tx *bolt.Tx) error { return registerGroup(tx, s.Topic, s.Group) })
	if err != nil {
		db.release(l)
		return err
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed.Load() {
		db.removeLocked(l)
		return errClosed
	}
	db.wg.Go(l.run)
	return nil
}

func checkSubscription(s gamemesh.Subscription) error {
	if err := checkName("topic", s.Topic); err != nil {
		return err
	}
	if err := checkName("group", s.Group); err != nil {
		return err
	}
	if s.Handler == nil {
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "subscription to %q has no handler", s.Topic)
	}
	if s.MaxAttempts < 0 || s.RetryDelay < 0 {
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "subscription to %q has a negative MaxAttempts or RetryDelay", s.Topic)
	}
	return nil
}

// reserve adds l to the running loops, refusing a second subscription of the
// same group to the same topic.
func (db *DB) reserve(l *deliveryLoop) error {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed.Load() {
		return errClosed
	}
	for _, other := range db.loops[l.sub.Topic] {
		if other.sub.Group == l.sub.Group {
			return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "group %q is already subscribed to %q", l.sub.Group, l.sub.Topic)
		}
	}
	db.loops[l.sub.Topic] = append(db.loops[l.sub.Topic], l)
	return nil
}

func (db *DB) release(l *deliveryLoop) {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.removeLocked(l)
}

func (db *DB) removeLocked(l *deliveryLoop) {
	loops := db.loops[l.sub.Topic]
	for i, other := range loops {
		if other == l {
			db.loops[l.sub.Topic] = append(loops[:i:i], loops[i+1:]...)
			return
		}
	}
}

// registerGroup records group as a subscriber of topic. A group new to the
// topic gets a copy of the topic's unclaimed events.
func registerGroup(tx *bolt.Tx, topic, group string) error {
	groups, err := tx.Bucket(bucketGroups).CreateBucketIfNotExists([]byte(topic))
	if err != nil {
		return fmt.Errorf("groups of %q: %w", topic, err)
	}
	q, err := queueBucket(tx, topic, group)
	if err != nil {
		return err
	}
	if groups.Get([]byte(group)) != nil {
		return nil
	}
	if err := groups.Put([]byte(group), []byte{1}); err != nil {
		return fmt.Errorf("add group %q to %q: %w", group, topic, err)
	}
	unclaimed := tx.Bucket(bucketUnclaimed).Bucket([]byte(topic))
	if unclaimed == nil {
		return nil
	}
	return unclaimed.ForEach(func(_, rec []byte) error {
		seq, err := q.NextSequence()
		if err != nil {
			return fmt.Errorf("sequence of %q/%q: %w", topic, group, err)
		}
		// Due at time 0: unclaimed events come before anything newer.
		return q.Put(queueKey(0, seq), rec)
	})
}
