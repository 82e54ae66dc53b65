package dapr

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	runtimev1pb "github.com/dapr/dapr/pkg/proto/runtime/v1"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
)

func TestAppDeclaresSubscriptionsWithDeadLetters(t *testing.T) {
	reg := functions.NewRegistry()
	reg.Subscribe("mail", gamemesh.Subscription{Topic: "game.events", Handler: func(context.Context, gamemesh.Event) error { return nil }})
	app, err := NewApp(AppOptions{Registry: reg, PubSub: "pubsub", Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Stop(context.Background())
	if err := app.Subscribe(t.Context(), gamemesh.Subscription{Topic: "push.gate-1", Handler: func(context.Context, gamemesh.Event) error { return nil }}); err != nil {
		t.Fatal(err)
	}
	if err := app.Subscribe(t.Context(), gamemesh.Subscription{Topic: ""}); gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
		t.Fatalf("subscription without topic: %v", err)
	}
	resp, err := app.ListTopicSubscriptions(t.Context(), &emptypb.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range resp.GetSubscriptions() {
		if s.GetPubsubName() != "pubsub" {
			t.Errorf("subscription %s on pubsub %q", s.GetTopic(), s.GetPubsubName())
		}
		got[s.GetTopic()] = s.GetDeadLetterTopic()
	}
	want := map[string]string{"game.events": "game.events.deadletter", "push.gate-1": "push.gate-1.deadletter"}
	if len(got) != len(want) || got["game.events"] != want["game.events"] || got["push.gate-1"] != want["push.gate-1"] {
		t.Fatalf("subscriptions %v, want %v", got, want)
	}
}

func TestAppRefusesSubscriptionsAfterStart(t *testing.T) {
	app := startApp(t, AppOptions{PubSub: "pubsub"})
	err := app.Subscribe(t.Context(), gamemesh.Subscription{Topic: "t", Handler: func(context.Context, gamemesh.Event) error { return nil }})
	if err == nil {
		t.Fatal("subscription accepted after Start: the sidecar would never deliver it")
	}
}

func TestAppRetriesThenDeadLetters(t *testing.T) {
	var calls atomic.Int32
	var attempts []int
	app, err := NewApp(AppOptions{PubSub: "pubsub", BackendRetryDelay: time.Millisecond, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Stop(context.Background())
	err = app.Subscribe(t.Context(), gamemesh.Subscription{Topic: "t", MaxAttempts: 3, RetryDelay: time.Millisecond,
		Handler: func(_ context.Context, ev gamemesh.Event) error {
			calls.Add(1)
			attempts = append(attempts, ev.Attempt)
			return errors.New("fails")
		}})
	if err != nil {
		t.Fatal(err)
	}
	ev := &runtimev1pb.TopicEventRequest{Id: "e1", Topic: "t", PubsubName: "pubsub", Data: []byte("x")}
	var statuses []runtimev1pb.TopicEventResponse_TopicEventResponseStatus
	for range 3 {
		resp, err := app.OnTopicEvent(t.Context(), ev)
		if err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, resp.GetStatus())
	}
	want := []runtimev1pb.TopicEventResponse_TopicEventResponseStatus{
		runtimev1pb.TopicEventResponse_RETRY, runtimev1pb.TopicEventResponse_RETRY, runtimev1pb.TopicEventResponse_DROP,
	}
	for i := range want {
		if statuses[i] != want[i] {
			t.Fatalf("statuses %v, want %v (DROP dead-letters)", statuses, want)
		}
	}
	if attempts[0] != 1 || attempts[2] != 3 {
		t.Fatalf("Attempt values %v, want 1..3", attempts)
	}
	if app.attempts.len() != 0 {
		t.Fatal("attempt counter kept after the event was settled")
	}
	resp, _ := app.OnTopicEvent(t.Context(), &runtimev1pb.TopicEventRequest{Id: "e2", Topic: "unknown"})
	if resp.GetStatus() != runtimev1pb.TopicEventResponse_DROP {
		t.Fatalf("event for an unknown topic: %v, want DROP", resp.GetStatus())
	}
}

func TestAppDeliversToEveryHandlerOfATopic(t *testing.T) {
	app, err := NewApp(AppOptions{PubSub: "pubsub", Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Stop(context.Background())
	var a, b atomic.Int32
	_ = app.Subscribe(t.Context(), gamemesh.Subscription{Topic: "t", Group: "a", Handler: func(context.Context, gamemesh.Event) error { a.Add(1); return nil }})
	_ = app.Subscribe(t.Context(), gamemesh.Subscription{Topic: "t", Group: "b", Handler: func(context.Context, gamemesh.Event) error {
		b.Add(1)
		panic("handler bug")
	}})
	resp, err := app.OnTopicEvent(t.Context(), &runtimev1pb.TopicEventRequest{Id: "e", Topic: "t"})
	if err != nil || resp.GetStatus() != runtimev1pb.TopicEventResponse_RETRY {
		t.Fatalf("one panicking handler: %v %v, want RETRY", resp.GetStatus(), err)
	}
	if a.Load() != 1 || b.Load() != 1 {
		t.Fatalf("handlers ran %d and %d times, want 1 each", a.Load(), b.Load())
	}
}

func TestAttemptTrackerSweeps(t *testing.T) {
	tr := newAttemptTracker(time.Minute)
	now := time.Now()
	tr.next("old", now)
	if n := tr.next("new", now.Add(2*time.Minute)); n != 1 {
		t.Fatalf("next = %d", n)
	}
	if tr.len() != 1 {
		t.Fatalf("idle entry not swept: %d entries", tr.len())
	}
}

func TestAppStopWithoutStart(t *testing.T) {
	app, err := NewApp(AppOptions{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := app.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := app.Start(); err == nil {
		t.Fatal("Start after Stop succeeded")
	}
}

// A consumer switched off (FEATURE_DISABLED) keeps its events however long it
// stays off: no attempt is counted, nothing is dead-lettered, and the event is
// delivered once it is back on.
func TestAppPausedConsumerKeepsItsEvents(t *testing.T) {
	var off atomic.Bool
	off.Store(true)
	var attempts []int
	app, err := NewApp(AppOptions{PubSub: "pubsub", BackendRetryDelay: time.Millisecond, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Stop(context.Background())
	err = app.Subscribe(t.Context(), gamemesh.Subscription{Topic: "t", MaxAttempts: 2, RetryDelay: time.Millisecond,
		Handler: func(_ context.Context, ev gamemesh.Event) error {
			attempts = append(attempts, ev.Attempt)
			if off.Load() {
				return gamemesh.Errorf(gamemesh.CodeFeatureDisabled, "switched off")
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	ev := &runtimev1pb.TopicEventRequest{Id: "e1", Topic: "t", PubsubName: "pubsub", Data: []byte("x")}
	for range 10 { // five times MaxAttempts
		resp, err := app.OnTopicEvent(t.Context(), ev)
		if err != nil || resp.GetStatus() != runtimev1pb.TopicEventResponse_RETRY {
			t.Fatalf("switched-off consumer: %v %v, want RETRY (never DROP)", resp.GetStatus(), err)
		}
	}
	off.Store(false)
	resp, err := app.OnTopicEvent(t.Context(), ev)
	if err != nil || resp.GetStatus() != runtimev1pb.TopicEventResponse_SUCCESS {
		t.Fatalf("back on: %v %v, want SUCCESS", resp.GetStatus(), err)
	}
	if attempts[len(attempts)-1] != 1 {
		t.Fatalf("Attempt values %v: paused deliveries must not count", attempts)
	}
}
