package gamemesh

import (
	"context"
	"time"
)

// Event is one message on a topic. Delivery is at least once: the same event
// (same ID) may reach a handler more than once, and consumers dedupe by ID.
type Event struct {
	// ID is unique per event; publishers that retry reuse it.
	ID string
	// Topic is where the event was published.
	Topic string
	// Data is the payload (protobuf in practice).
	Data []byte
	// Attempt is, on delivery, 1 for the first delivery and higher on redelivery.
	Attempt int
}

// Publisher publishes events. Publish returns once the event is durably
// accepted: an acknowledged event is delivered to every subscribed group at
// least once, even across a restart.
type Publisher interface {
	Publish(ctx context.Context, topic string, ev Event) error
}

// EventHandler consumes one event. Returning nil acknowledges it; returning an
// error asks for redelivery later. An error whose code is FEATURE_DISABLED
// means the consumer is switched off: the event is kept and redelivered after
// RetryDelay without counting an attempt, so a switched-off system catches up
// when it is switched back on instead of losing its events to the dead letters.
type EventHandler func(ctx context.Context, ev Event) error

// Subscription binds a handler to a topic for one consumer group. Every group
// subscribed to a topic receives each event; within a group, replicas compete.
type Subscription struct {
	Topic string
	// Group is the consumer group, normally the app id.
	Group   string
	Handler EventHandler
	// MaxAttempts is how many deliveries an event gets before it is moved to
	// DeadLetterTopic(Topic); 0 means DefaultMaxAttempts.
	MaxAttempts int
	// RetryDelay is the pause before a redelivery; 0 means DefaultRetryDelay.
	RetryDelay time.Duration
}

// Defaults for Subscription.
const (
	DefaultMaxAttempts = 5
	DefaultRetryDelay  = 200 * time.Millisecond
)

// DeadLetterTopic is the topic where events that exhausted their attempts on
// topic are published, with their original ID.
func DeadLetterTopic(topic string) string { return topic + ".deadletter" }

// Subscriber registers subscriptions. Adapters may require every subscription
// to be registered before they start delivering.
type Subscriber interface {
	Subscribe(ctx context.Context, s Subscription) error
}
