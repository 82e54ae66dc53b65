package meshtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
)

// retryDelay is the RetryDelay of the suite's subscriptions: small, so that
// redelivery cases finish quickly.
const retryDelay = 50 * time.Millisecond

// TestPubSub runs the Publisher/Subscriber conformance cases. start receives
// every subscription of the subtest up front (Dapr declares subscriptions
// before the app starts) and returns a running Publisher whose subscriptions
// are live; it registers its own cleanup with t.Cleanup.
func TestPubSub(t *testing.T, start func(t *testing.T, subs []gamemesh.Subscription) gamemesh.Publisher) {
	t.Run("Delivery", func(t *testing.T) {
		topic := prefix() + "-delivery"
		rec := newRecorder(nil)
		pub := start(t, []gamemesh.Subscription{rec.subscription(topic, "g1", 0)})
		ev := gamemesh.Event{ID: gamemesh.NewID(), Data: []byte{0, 1, 2, 0xff, 'x'}}
		mustPublish(t, pub, topic, ev)
		rec.waitIDs(t, ev.ID)
		got := rec.first(ev.ID)
		if !bytes.Equal(got.Data, ev.Data) {
			t.Fatalf("Data = %x, want %x", got.Data, ev.Data)
		}
		if got.Topic != topic {
			t.Fatalf("Topic = %q, want %q", got.Topic, topic)
		}
	})

	t.Run("EveryGroup", func(t *testing.T) {
		topic := prefix() + "-groups"
		a, b := newRecorder(nil), newRecorder(nil)
		pub := start(t, []gamemesh.Subscription{
			a.subscription(topic, "group-a", 0),
			b.subscription(topic, "group-b", 0),
		})
		ids := make([]string, 3)
		for i := range ids {
			ids[i] = gamemesh.NewID()
			mustPublish(t, pub, topic, gamemesh.Event{ID: ids[i], Data: []byte(ids[i])})
		}
		a.waitIDs(t, ids...)
		b.waitIDs(t, ids...)
	})

	t.Run("Redelivery", func(t *testing.T) {
		topic := prefix() + "-redeliver"
		rec := newRecorder(func(ev gamemesh.Event, seen int) error {
			if seen <= 2 {
				return fmt.Errorf("failing delivery %d on purpose", seen)
			}
			return nil
		})
		pub := start(t, []gamemesh.Subscription{rec.subscription(topic, "g1", 5)})
		ev := gamemesh.Event{ID: gamemesh.NewID(), Data: []byte("again")}
		mustPublish(t, pub, topic, ev)
		rec.waitCount(t, ev.ID, 3)
		evs := rec.all(ev.ID)
		for i := 1; i < len(evs); i++ {
			if !bytes.Equal(evs[i].Data, ev.Data) {
				t.Fatalf("redelivery %d carries Data %q, want %q", i, evs[i].Data, ev.Data)
			}
		}
		// Backends that report Attempt must report it increasing.
		if first, last := evs[0].Attempt, evs[len(evs)-1].Attempt; first > 0 && last <= first {
			t.Fatalf("Attempt did not increase over redeliveries: first %d, last %d", first, last)
		}
	})

	t.Run("DeadLetter", func(t *testing.T) {
		topic := prefix() + "-dead"
		const maxAttempts = 3
		failing := newRecorder(func(gamemesh.Event, int) error { return errors.New("always failing") })
		dead := newRecorder(nil)
		pub := start(t, []gamemesh.Subscription{
			failing.subscription(topic, "g1", maxAttempts),
			dead.subscription(gamemesh.DeadLetterTopic(topic), "g1", 0),
		})
		ev := gamemesh.Event{ID: gamemesh.NewID(), Data: []byte("doomed")}
		mustPublish(t, pub, topic, ev)
		dead.waitIDs(t, ev.ID)
		if got := dead.first(ev.ID); !bytes.Equal(got.Data, ev.Data) {
			t.Fatalf("dead letter Data = %q, want %q", got.Data, ev.Data)
		}
		// Exactly MaxAttempts deliveries on an exactly-counting backend; an
		// at-least-once backend may deliver once more (e.g. a lost ack), so
		// the suite only requires at least MaxAttempts.
		if n := failing.count(ev.ID); n < maxAttempts {
			t.Fatalf("failing handler saw the event %d times before dead-lettering, want >= %d", n, maxAttempts)
		}
	})

	t.Run("ConcurrentPublish", func(t *testing.T) {
		topic := prefix() + "-many"
		rec := newRecorder(nil)
		pub := start(t, []gamemesh.Subscription{rec.subscription(topic, "g1", 0)})
		const n = 100
		ids := make([]string, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range ids {
			ids[i] = gamemesh.NewID()
			wg.Go(func() {
				errs[i] = pub.Publish(t.Context(), topic, gamemesh.Event{ID: ids[i], Data: []byte(ids[i])})
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("Publish %d: %v", i, err)
			}
		}
		rec.waitIDs(t, ids...)
	})
}

func mustPublish(t *testing.T, pub gamemesh.Publisher, topic string, ev gamemesh.Event) {
	t.Helper()
	if err := pub.Publish(t.Context(), topic, ev); err != nil {
		t.Fatalf("Publish to %q: %v", topic, err)
	}
}

// recorder is an event handler that records every delivery. Its decide
// function (nil: always succeed) chooses the handler's result from the event
// and how many times its ID has been seen, this delivery included.
type recorder struct {
	decide func(ev gamemesh.Event, seen int) error

	mu   sync.Mutex
	seen map[string][]gamemesh.Event
}

func newRecorder(decide func(gamemesh.Event, int) error) *recorder {
	return &recorder{decide: decide, seen: make(map[string][]gamemesh.Event)}
}

func (r *recorder) subscription(topic, group string, maxAttempts int) gamemesh.Subscription {
	return gamemesh.Subscription{
		Topic:       topic,
		Group:       group,
		Handler:     r.handle,
		MaxAttempts: maxAttempts,
		RetryDelay:  retryDelay,
	}
}

func (r *recorder) handle(_ context.Context, ev gamemesh.Event) error {
	ev.Data = bytes.Clone(ev.Data)
	r.mu.Lock()
	r.seen[ev.ID] = append(r.seen[ev.ID], ev)
	n := len(r.seen[ev.ID])
	r.mu.Unlock()
	if r.decide == nil {
		return nil
	}
	return r.decide(ev, n)
}

func (r *recorder) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen[id])
}

func (r *recorder) all(id string) []gamemesh.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]gamemesh.Event(nil), r.seen[id]...)
}

func (r *recorder) first(id string) gamemesh.Event { return r.all(id)[0] }

// waitCount waits until id has been delivered at least n times.
func (r *recorder) waitCount(t *testing.T, id string, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("event %s delivered %d times", id, n), func() bool { return r.count(id) >= n })
}

// waitIDs waits until each of ids has been delivered at least once.
func (r *recorder) waitIDs(t *testing.T, ids ...string) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d events delivered", len(ids)), func() bool {
		for _, id := range ids {
			if r.count(id) == 0 {
				return false
			}
		}
		return true
	})
}

// waitFor polls cond until it holds, failing the test after waitTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for: %s", waitTimeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
