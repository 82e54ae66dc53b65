package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gamemesh/gamemesh"
)

// maxInFlight is how many events of one subscription are handled at once, so
// that a slow handler does not hold up every other event.
const maxInFlight = 16

// retryAfterError is the pause before a delivery loop reads its queue again
// after the read failed.
const retryAfterError = time.Second

// deliveryLoop delivers the queue of one (topic, group) to its handler. Its
// run goroutine owns inflight; worker goroutines report back on done.
type deliveryLoop struct {
	db  *DB
	sub gamemesh.Subscription
	log *slog.Logger

	wakeCh   chan struct{} // new events may be due
	done     chan string   // queue keys whose delivery finished
	inflight map[string]struct{}
	workers  sync.WaitGroup
}

// pending is one event taken from a queue for delivery.
type pending struct {
	key      []byte
	attempts int // failed deliveries so far
	ev       gamemesh.Event
}

func newDeliveryLoop(db *DB, s gamemesh.Subscription) *deliveryLoop {
	return &deliveryLoop{
		db:       db,
		sub:      s,
		log:      db.log.With("topic", s.Topic, "group", s.Group),
		wakeCh:   make(chan struct{}, 1),
		done:     make(chan string, maxInFlight),
		inflight: make(map[string]struct{}),
	}
}

// signal wakes the loop without blocking.
func (l *deliveryLoop) signal() {
	select {
	case l.wakeCh <- struct{}{}:
	default:
	}
}

// run takes due events and hands them to workers until the DB closes, then
// waits for the workers.
func (l *deliveryLoop) run() {
	ctx := l.db.ctx
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		var next time.Time // when the earliest scheduled event is due
		if free := maxInFlight - len(l.inflight); free > 0 && ctx.Err() == nil {
			batch, nextDue, corrupt, err := l.take(free, time.Now())
			if len(corrupt) > 0 {
				l.drop(corrupt)
			}
			if err != nil {
				l.log.Error("reading the event queue", "err", err)
				nextDue = time.Now().Add(retryAfterError)
			}
			next = nextDue
			for _, p := range batch {
				l.inflight[string(p.key)] = struct{}{}
				l.workers.Go(func() { l.deliver(ctx, p) })
			}
		}
		timer.Stop()
		if !next.IsZero() {
			timer.Reset(time.Until(next))
		}
		select {
		case <-ctx.Done():
			l.workers.Wait()
			return
		case <-l.wakeCh:
		case k := <-l.done:
			delete(l.inflight, k)
		case <-timer.C:
		}
	}
}

// take reads up to n due events that are not in flight, and the due time of
// the earliest event scheduled after now (zero if none was seen). It also
// returns the keys of undecodable entries it skipped.
func (l *deliveryLoop) take(n int, now time.Time) (batch []pending, next time.Time, corrupt [][]byte, err error) {
	err = l.db.read(func(tx *bolt.Tx) error {
		t := tx.Bucket(bucketQueues).Bucket([]byte(l.sub.Topic))
		if t == nil {
			return nil
		}
		q := t.Bucket([]byte(l.sub.Group))
		if q == nil {
			return nil
		}
		c := q.Cursor()
		for k, v := c.First(); k != nil && len(batch) < n; k, v = c.Next() {
			if len(k) != 16 {
				corrupt = append(corrupt, bytes.Clone(k))
				continue
			}
			due := int64(binary.BigEndian.Uint64(k[:8]))
			if due > now.UnixNano() {
				next = time.Unix(0, due)
				break
			}
			if _, busy := l.inflight[string(k)]; busy {
				continue
			}
			attempts, ev, err := decodeEvent(v)
			if err != nil {
				corrupt = append(corrupt, bytes.Clone(k))
				continue
			}
			batch = append(batch, pending{key: append([]byte(nil), k...), attempts: attempts, ev: ev})
		}
		return nil
	})
	return batch, next, corrupt, err
}

// drop deletes undecodable queue entries, which no delivery could ever handle.
func (l *deliveryLoop) drop(keys [][]byte) {
	l.log.Error("dropping corrupt queued events", "count", len(keys))
	err := l.db.write(func(tx *bolt.Tx) error {
		for _, k := range keys {
			if err := l.remove(tx, k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		l.log.Error("dropping corrupt queued events", "err", err)
	}
}

// deliver calls the handler for p and records the outcome: acknowledged,
// rescheduled, or moved to the dead-letter topic.
func (l *deliveryLoop) deliver(ctx context.Context, p pending) {
	defer func() { l.done <- string(p.key) }()
	ev := p.ev
	ev.Topic = l.sub.Topic
	ev.Attempt = p.attempts + 1
	ev.Data = bytes.Clone(p.ev.Data) // the handler may keep or change its copy
	herr := l.call(ctx, ev)
	dlt := gamemesh.DeadLetterTopic(l.sub.Topic)
	var outcome func(tx *bolt.Tx) error
	switch {
	case herr == nil:
		outcome = func(tx *bolt.Tx) error { return l.remove(tx, p.key) }
	case ctx.Err() != nil:
		return // interrupted by Close: stays queued, attempt not counted
	case gamemesh.CodeOf(herr) == gamemesh.CodeFeatureDisabled:
		// The consumer is switched off: keep the event, do not count the attempt.
		outcome = l.requeue(p, p.attempts)
	case ev.Attempt >= l.sub.MaxAttempts:
		l.log.Warn("event dead-lettered", "id", ev.ID, "attempts", ev.Attempt, "err", herr)
		outcome = func(tx *bolt.Tx) error {
			if err := l.remove(tx, p.key); err != nil {
				return err
			}
			return enqueue(tx, dlt, p.ev, time.Now())
		}
	default:
		l.log.Debug("event delivery failed; will retry", "id", ev.ID, "attempt", ev.Attempt, "err", herr)
		outcome = l.requeue(p, ev.Attempt)
	}
	if err := l.db.write(outcome); err != nil {
		// The event keeps its queue entry and is delivered again.
		l.log.Error("recording an event delivery", "id", ev.ID, "err", err)
		return
	}
	if herr != nil && ev.Attempt >= l.sub.MaxAttempts {
		l.db.wake(dlt)
	}
}

// call runs the handler, turning a panic into an error.
// requeue returns the write that puts p back in its queue, due after
// RetryDelay, with attempts recorded.
func (l *deliveryLoop) requeue(p pending, attempts int) func(tx *bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		if err := l.remove(tx, p.key); err != nil {
			return err
		}
		q, err := queueBucket(tx, l.sub.Topic, l.sub.Group)
		if err != nil {
			return err
		}
		seq := binary.BigEndian.Uint64(p.key[8:])
		return q.Put(queueKey(time.Now().Add(l.sub.RetryDelay).UnixNano(), seq), encodeEvent(attempts, p.ev))
	}
}

func (l *deliveryLoop) call(ctx context.Context, ev gamemesh.Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			l.log.Error("event handler panicked", "id", ev.ID, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("handler panicked: %v", r)
		}
	}()
	return l.sub.Handler(ctx, ev)
}

func (l *deliveryLoop) remove(tx *bolt.Tx, key []byte) error {
	q, err := queueBucket(tx, l.sub.Topic, l.sub.Group)
	if err != nil {
		return err
	}
	if err := q.Delete(key); err != nil {
		return fmt.Errorf("delete queued event: %w", err)
	}
	return nil
}
