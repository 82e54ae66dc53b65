package achievement_test

// The app on the embedded adapters: the bbolt store, the in-process invoker
// and the bbolt event queue delivering game.events to HandleEvent.

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions/achievement"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// subscribe starts delivery of the registry's subscriptions, counting the
// events acknowledged.
func (e *env) subscribe(t *testing.T) *atomic.Int32 {
	t.Helper()
	var acked atomic.Int32
	for _, s := range e.reg.Subscriptions() {
		h := s.Handler
		s.Handler = func(ctx context.Context, ev gamemesh.Event) error {
			err := h(ctx, ev)
			if err == nil {
				acked.Add(1)
			}
			return err
		}
		if err := e.db.Subscribe(functionstest.Context(t), s); err != nil {
			t.Fatal(err)
		}
	}
	return &acked
}

func (e *env) publish(t *testing.T, ev *gamev1.GameEvent) {
	t.Helper()
	body, err := proto.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.Publisher().Publish(functionstest.Context(t), achievement.EventsTopic, gamemesh.Event{ID: ev.Id, Data: body}); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds or the bound passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestEmbeddedDuplicatesAndUnlock(t *testing.T) {
	e := newEmbeddedEnv(t)
	acked := e.subscribe(t)
	p := gamemesh.NewPlayerID()
	for range 5 {
		e.publish(t, kill(p, "dup-1", 3))
	}
	waitFor(t, "5 deliveries", func() bool { return acked.Load() == 5 })
	if got := e.list(t, p).Counters["kills"]; got != 3 {
		t.Fatalf("kills = %d after 5 deliveries of one event, want 3", got)
	}
	for i := range 7 {
		e.publish(t, kill(p, "more-"+string(rune('a'+i)), 1))
	}
	e.publish(t, kill(p, "more-a", 1)) // a redelivery
	waitFor(t, "13 deliveries", func() bool { return acked.Load() == 13 })
	l := e.list(t, p)
	if l.Counters["kills"] != 10 || len(l.Achievements) != 1 || l.Achievements[0].Id != "kills_10" || l.Achievements[0].RewardPending {
		t.Fatalf("list = %v", l)
	}
	wantOneRewardMail(t, e, p, "gold", 100)
	if e.pushes.count() != 1 {
		t.Fatalf("%d pushes", e.pushes.count())
	}
}

// While the feature is off, events stay queued and are redelivered; once it
// is on again they are applied, once.
func TestEmbeddedFeatureOffRedelivers(t *testing.T) {
	e := newEmbeddedEnv(t)
	e.off.off.Store(true)
	acked := e.subscribe(t)
	p := gamemesh.NewPlayerID()
	e.publish(t, kill(p, "late", 10))
	time.Sleep(60 * time.Millisecond) // a few refused deliveries (RetryDelay 20 ms)
	if acked.Load() != 0 {
		t.Fatal("event acknowledged while the feature was off")
	}
	e.off.off.Store(false)
	waitFor(t, "the redelivery", func() bool { return acked.Load() == 1 })
	if got := e.list(t, p).Counters["kills"]; got != 10 {
		t.Fatalf("kills = %d", got)
	}
	wantOneRewardMail(t, e, p, "gold", 100)
}

func TestEmbeddedMailDown(t *testing.T) {
	e := newEmbeddedEnv(t)
	p := gamemesh.NewPlayerID()
	e.gate.down.Store(true)
	out, err := e.record(functionstest.Context(t), kill(p, "m1", 10))
	if err != nil || out.PendingRewards != 1 {
		t.Fatalf("%v, %v", out, err)
	}
	e.gate.down.Store(false)
	for range 3 {
		e.list(t, p)
	}
	wantOneRewardMail(t, e, p, "gold", 100)
}
