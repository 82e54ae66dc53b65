package dapr

import (
	"context"
	"fmt"
	"time"

	runtimev1pb "github.com/dapr/dapr/pkg/proto/runtime/v1"

	"github.com/gamemesh/gamemesh"
)

// Delivery answers understood by daprd (pkg/runtime/subscription/publish.go).
var (
	eventSuccess = &runtimev1pb.TopicEventResponse{Status: runtimev1pb.TopicEventResponse_SUCCESS}
	// eventRetry makes the sidecar's inbound resiliency policy redeliver.
	eventRetry = &runtimev1pb.TopicEventResponse{Status: runtimev1pb.TopicEventResponse_RETRY}
	// eventDrop makes the sidecar publish the event to the subscription's
	// dead-letter topic and acknowledge it. (A gRPC Unimplemented error would
	// drop it without dead-lettering: never returned.)
	eventDrop = &runtimev1pb.TopicEventResponse{Status: runtimev1pb.TopicEventResponse_DROP}
)

// OnTopicEvent delivers one event to the topic's subscriptions. A handler
// error asks for a redelivery until MaxAttempts deliveries of that event ID
// failed; then the event goes to the dead-letter topic.
func (a *App) OnTopicEvent(ctx context.Context, in *runtimev1pb.TopicEventRequest) (*runtimev1pb.TopicEventResponse, error) {
	topic := in.GetTopic()
	a.mu.Lock()
	subs := a.topics[topic]
	a.mu.Unlock()
	log := a.log.With("topic", topic, "event", in.GetId())
	if len(subs) == 0 {
		log.Warn("event for a topic without subscription: dead-lettered")
		return eventDrop, nil
	}
	key := topic + "\x00" + in.GetId()
	attempt := a.attempts.next(key, time.Now())
	ev := gamemesh.Event{ID: in.GetId(), Topic: topic, Data: in.GetData(), Attempt: attempt}

	hctx, cancel := context.WithTimeout(ctx, a.eventTimeout)
	err := deliver(hctx, subs, ev)
	cancel()
	if err == nil {
		a.attempts.forget(key)
		return eventSuccess, nil
	}
	maxAttempts, delay := 0, time.Duration(0)
	for _, s := range subs {
		maxAttempts = max(maxAttempts, s.MaxAttempts)
		delay = max(delay, s.RetryDelay)
	}
	switch {
	case gamemesh.CodeOf(err) == gamemesh.CodeFeatureDisabled:
		// The consumer is switched off: keep the event without counting the attempt.
		a.attempts.undo(key)
		log.Debug("consumer switched off; asking for redelivery", "err", err)
	case attempt >= maxAttempts:
		a.attempts.forget(key)
		log.Warn("event failed its last attempt: dead-lettered", "attempt", attempt, "err", err)
		return eventDrop, nil
	default:
		log.Info("event failed; asking for redelivery", "attempt", attempt, "err", err)
	}
	if extra := delay - a.backendDelay; extra > 0 {
		t := time.NewTimer(extra)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	return eventRetry, nil
}

// deliver runs every handler of the topic (one Dapr subscription per topic
// and app); the event succeeds when all of them do. Handlers dedupe by ID, so
// a redelivery after a partial failure is harmless.
func deliver(ctx context.Context, subs []gamemesh.Subscription, ev gamemesh.Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panicked: %v", r)
		}
	}()
	var firstErr error
	for _, s := range subs {
		if herr := s.Handler(ctx, ev); herr != nil && firstErr == nil {
			firstErr = herr
		}
	}
	return firstErr
}
