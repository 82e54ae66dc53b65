package embedded

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gamemesh/gamemesh"
)

// inbox is an event handler that records deliveries and can be told to fail.
type inbox struct {
	fail func(ev gamemesh.Event) error // nil: succeed

	mu  sync.Mutex
	evs []gamemesh.Event
}

func (b *inbox) handle(_ context.Context, ev gamemesh.Event) error {
	b.mu.Lock()
	b.evs = append(b.evs, ev)
	b.mu.Unlock()
	if b.fail != nil {
		return b.fail(ev)
	}
	return nil
}

func (b *inbox) got() []gamemesh.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]gamemesh.Event(nil), b.evs...)
}

func (b *inbox) count(id string) int {
	n := 0
	for _, ev := range b.got() {
		if ev.ID == id {
			n++
		}
	}
	return n
}

func (b *inbox) waitCount(t *testing.T, id string, n int) {
	t.Helper()
	eventually(t, "event delivered", func() bool { return b.count(id) >= n })
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func subscribe(t *testing.T, db *DB, topic, group string, b *inbox, maxAttempts int) {
	t.Helper()
	err := db.Subscribe(t.Context(), gamemesh.Subscription{
		Topic: topic, Group: group, Handler: b.handle, MaxAttempts: maxAttempts, RetryDelay: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("Subscribe %s/%s: %v", topic, group, err)
	}
}

func publish(t *testing.T, db *DB, topic string, ev gamemesh.Event) {
	t.Helper()
	if err := db.Publisher().Publish(t.Context(), topic, ev); err != nil {
		t.Fatalf("Publish: %v", err)
	}
}

func mustOpen(t *testing.T, path string) *DB {
	t.Helper()
	db, err := Open(path, Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func mustClose(t *testing.T, db *DB) {
	t.Helper()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// A group that subscribed in an earlier run gets the events published while
// it was not running.
func TestEventsForKnownGroupSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mesh.db")
	db := mustOpen(t, path)
	subscribe(t, db, "mail.sent", "achievement", &inbox{}, 0)
	mustClose(t, db)

	db = mustOpen(t, path)
	ev := gamemesh.Event{ID: gamemesh.NewID(), Data: []byte("while away")}
	publish(t, db, "mail.sent", ev)
	mustClose(t, db)

	db = openTestDB(t, path)
	var b inbox
	subscribe(t, db, "mail.sent", "achievement", &b, 0)
	b.waitCount(t, ev.ID, 1)
	if got := b.got()[0]; string(got.Data) != "while away" || got.Attempt != 1 || got.Topic != "mail.sent" {
		t.Fatalf("delivered %+v", got)
	}
}

// Events published before any group ever subscribed are kept, and every group
// that subscribes for the first time gets them.
func TestUnclaimedEventsSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mesh.db")
	db := mustOpen(t, path)
	ev := gamemesh.Event{ID: gamemesh.NewID(), Data: []byte("early")}
	publish(t, db, "game.events", ev)
	mustClose(t, db)

	db = openTestDB(t, path)
	var a, b inbox
	subscribe(t, db, "game.events", "achievement", &a, 0)
	subscribe(t, db, "game.events", "guild", &b, 0)
	a.waitCount(t, ev.ID, 1)
	b.waitCount(t, ev.ID, 1)
}

// An event whose handler is interrupted by Close is delivered again after a
// reopen, without the interrupted delivery counting as an attempt.
func TestInterruptedDeliveryResumesAfterReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mesh.db")
	db := mustOpen(t, path)
	started := make(chan struct{})
	err := db.Subscribe(t.Context(), gamemesh.Subscription{Topic: "t", Group: "g", Handler: func(ctx context.Context, ev gamemesh.Event) error {
		close(started)
		<-ctx.Done() // cancelled by Close
		return ctx.Err()
	}})
	if err != nil {
		t.Fatal(err)
	}
	ev := gamemesh.Event{ID: gamemesh.NewID()}
	publish(t, db, "t", ev)
	<-started
	mustClose(t, db)

	db = openTestDB(t, path)
	var b inbox
	subscribe(t, db, "t", "g", &b, 0)
	b.waitCount(t, ev.ID, 1)
	if got := b.got()[0]; got.Attempt != 1 {
		t.Fatalf("Attempt after an interrupted delivery = %d, want 1", got.Attempt)
	}
}

func TestDeadLetterAfterExactlyMaxAttemptsAndKept(t *testing.T) {
	db := openTestDB(t, "")
	failing := &inbox{fail: func(gamemesh.Event) error { return errors.New("no") }}
	subscribe(t, db, "t", "g", failing, 3)
	ev := gamemesh.Event{ID: gamemesh.NewID(), Data: []byte("d")}
	publish(t, db, "t", ev)
	failing.waitCount(t, ev.ID, 3)
	// Nobody subscribes to the dead-letter topic yet: the event is kept.
	eventually(t, "dead letter stored", func() bool { return queued(t, db, "t", "g") == 0 && unclaimed(t, db, "t.deadletter") == 1 })
	time.Sleep(100 * time.Millisecond) // five retry delays: no further delivery may come
	if n := failing.count(ev.ID); n != 3 {
		t.Fatalf("failing handler saw the event %d times, want exactly 3", n)
	}
	for i, got := range failing.got() {
		if got.Attempt != i+1 {
			t.Fatalf("delivery %d had Attempt %d", i+1, got.Attempt)
		}
	}
	var dead inbox
	subscribe(t, db, gamemesh.DeadLetterTopic("t"), "ops", &dead, 0)
	dead.waitCount(t, ev.ID, 1)
	if got := dead.got()[0]; string(got.Data) != "d" || got.Attempt != 1 {
		t.Fatalf("dead letter delivered as %+v", got)
	}
}

func TestHandlerPanicIsAFailedDelivery(t *testing.T) {
	db := openTestDB(t, "")
	b := &inbox{}
	b.fail = func(ev gamemesh.Event) error {
		if ev.Attempt == 1 {
			panic("boom")
		}
		return nil
	}
	subscribe(t, db, "t", "g", b, 0)
	ev := gamemesh.Event{ID: gamemesh.NewID()}
	publish(t, db, "t", ev)
	b.waitCount(t, ev.ID, 2)
	eventually(t, "acknowledged", func() bool { return queued(t, db, "t", "g") == 0 })
}

func TestSlowHandlerDoesNotBlockOthers(t *testing.T) {
	db := openTestDB(t, "")
	release := make(chan struct{})
	defer close(release)
	slowID := gamemesh.NewID()
	b := &inbox{fail: func(ev gamemesh.Event) error {
		if ev.ID == slowID {
			<-release
		}
		return nil
	}}
	subscribe(t, db, "t", "g", b, 0)
	publish(t, db, "t", gamemesh.Event{ID: slowID})
	b.waitCount(t, slowID, 1)
	ids := make([]string, 10)
	for i := range ids {
		ids[i] = gamemesh.NewID()
		publish(t, db, "t", gamemesh.Event{ID: ids[i]})
	}
	for _, id := range ids {
		b.waitCount(t, id, 1)
	}
}

func TestEventDataIsCopied(t *testing.T) {
	db := openTestDB(t, "")
	b := &inbox{}
	b.fail = func(ev gamemesh.Event) error {
		if ev.Attempt == 1 {
			ev.Data[0] = 'X' // a handler scribbling on its copy must not change the stored event
			return errors.New("retry")
		}
		return nil
	}
	subscribe(t, db, "t", "g", b, 0)
	data := []byte("abc")
	ev := gamemesh.Event{ID: gamemesh.NewID(), Data: data}
	publish(t, db, "t", ev)
	data[0] = 'Z' // nor may the publisher's later changes
	b.waitCount(t, ev.ID, 2)
	if got := string(b.got()[1].Data); got != "abc" {
		t.Fatalf("redelivered Data = %q, want %q", got, "abc")
	}
}

func TestPubSubBadInput(t *testing.T) {
	db := openTestDB(t, "")
	ctx := t.Context()
	subscribe(t, db, "t", "g", &inbox{}, 0)
	errs := map[string]error{
		"empty topic":     db.Publisher().Publish(ctx, "", gamemesh.Event{ID: "x"}),
		"empty event id":  db.Publisher().Publish(ctx, "t", gamemesh.Event{}),
		"no handler":      db.Subscribe(ctx, gamemesh.Subscription{Topic: "t", Group: "h"}),
		"no group":        db.Subscribe(ctx, gamemesh.Subscription{Topic: "t", Handler: okHandler}),
		"negative retry":  db.Subscribe(ctx, gamemesh.Subscription{Topic: "t", Group: "h", Handler: okHandler, RetryDelay: -1}),
		"duplicate group": db.Subscribe(ctx, gamemesh.Subscription{Topic: "t", Group: "g", Handler: okHandler}),
	}
	for name, err := range errs {
		if gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
			t.Errorf("%s: err = %v, want INVALID_ARGUMENT", name, err)
		}
	}
	if n := queued(t, db, "t", "g"); n != 0 {
		t.Fatalf("bad input queued %d events", n)
	}
}

func TestSetAndPublish(t *testing.T) {
	db := openTestDB(t, "")
	ctx, s := t.Context(), db.Store()
	var b inbox
	subscribe(t, db, "claims", "inventory", &b, 0)

	ev1 := gamemesh.Event{ID: gamemesh.NewID(), Data: []byte("grant 1")}
	if err := db.SetAndPublish(ctx, "claim:1", []byte("claimed"), gamemesh.SetOptions{}, "claims", ev1); err != nil {
		t.Fatalf("SetAndPublish: %v", err)
	}
	b.waitCount(t, ev1.ID, 1)
	it, err := s.Get(ctx, "claim:1")
	if err != nil || string(it.Value) != "claimed" {
		t.Fatalf("Get after SetAndPublish = %q, %v", it.Value, err)
	}

	// A failed ETag guard writes nothing and publishes nothing.
	ev2 := gamemesh.Event{ID: gamemesh.NewID(), Data: []byte("grant 2")}
	err = db.SetAndPublish(ctx, "claim:1", []byte("claimed twice"), gamemesh.SetOptions{}, "claims", ev2)
	if !errors.Is(err, gamemesh.ErrConflict) {
		t.Fatalf("SetAndPublish on an existing key: err = %v, want CONFLICT", err)
	}
	err = db.SetAndPublish(ctx, "claim:1", []byte("stale"), gamemesh.SetOptions{ETag: "999999"}, "claims", ev2)
	if !errors.Is(err, gamemesh.ErrConflict) {
		t.Fatalf("SetAndPublish with a stale ETag: err = %v, want CONFLICT", err)
	}
	// Bad event input writes nothing either.
	err = db.SetAndPublish(ctx, "claim:2", []byte("x"), gamemesh.SetOptions{}, "", ev2)
	if gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
		t.Fatalf("SetAndPublish with an empty topic: err = %v, want INVALID_ARGUMENT", err)
	}
	if _, err := s.Get(ctx, "claim:2"); !errors.Is(err, gamemesh.ErrNotFound) {
		t.Fatalf("SetAndPublish with bad input wrote the key: %v", err)
	}
	if got, _ := s.Get(ctx, "claim:1"); got.ETag != it.ETag {
		t.Fatalf("refused SetAndPublish changed the key: %+v", got)
	}
	// Publish a marker and wait until the queue is empty: had ev2 been
	// queued, it would have been handled (and counted) by then.
	marker := gamemesh.Event{ID: gamemesh.NewID()}
	publish(t, db, "claims", marker)
	b.waitCount(t, marker.ID, 1)
	eventually(t, "queue drained", func() bool { return queued(t, db, "claims", "inventory") == 0 })
	if n := b.count(ev2.ID); n != 0 {
		t.Fatalf("event of a refused SetAndPublish was delivered %d times", n)
	}

	// With the current ETag both happen.
	ev3 := gamemesh.Event{ID: gamemesh.NewID()}
	if err := db.SetAndPublish(ctx, "claim:1", []byte("v2"), gamemesh.SetOptions{ETag: it.ETag}, "claims", ev3); err != nil {
		t.Fatalf("SetAndPublish with the current ETag: %v", err)
	}
	b.waitCount(t, ev3.ID, 1)
}

// queued counts the events in the queue of group on topic.
func queued(t *testing.T, db *DB, topic, group string) int {
	t.Helper()
	n := 0
	if err := db.bolt.View(func(tx *bolt.Tx) error {
		if tb := tx.Bucket(bucketQueues).Bucket([]byte(topic)); tb != nil {
			if q := tb.Bucket([]byte(group)); q != nil {
				n = q.Stats().KeyN
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// unclaimed counts the events kept for topic until a group subscribes.
func unclaimed(t *testing.T, db *DB, topic string) int {
	t.Helper()
	n := 0
	if err := db.bolt.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketUnclaimed).Bucket([]byte(topic)); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// A consumer switched off (FEATURE_DISABLED) keeps its events however long it
// stays off: no attempt is counted, nothing is dead-lettered, and each event
// is delivered once the consumer is back on.
func TestPausedConsumerKeepsItsEvents(t *testing.T) {
	db := openTestDB(t, "")
	var off atomic.Bool
	off.Store(true)
	b := &inbox{fail: func(gamemesh.Event) error {
		if off.Load() {
			return gamemesh.Errorf(gamemesh.CodeFeatureDisabled, "switched off")
		}
		return nil
	}}
	subscribe(t, db, "t", "g", b, 2)
	ev := gamemesh.Event{ID: gamemesh.NewID(), Data: []byte("d")}
	publish(t, db, "t", ev)
	b.waitCount(t, ev.ID, 10) // five times MaxAttempts while switched off
	if n := unclaimed(t, db, "t.deadletter"); n != 0 {
		t.Fatalf("%d dead letters for a switched-off consumer", n)
	}
	off.Store(false)
	eventually(t, "delivered once back on", func() bool { return queued(t, db, "t", "g") == 0 })
	got := b.got()
	if last := got[len(got)-1]; last.Attempt != 1 {
		t.Fatalf("delivered with Attempt %d: paused deliveries must not count", last.Attempt)
	}
}
