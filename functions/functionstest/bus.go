package functionstest

import (
	"context"
	"sync"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
)

// Bus is a gamemesh.Publisher that records every published event and, when
// Registry is set, delivers each one synchronously (attempt 1, once) to the
// registry's subscriptions on its topic. Handler errors are recorded, not
// retried, and never fail Publish. The zero value records only.
type Bus struct {
	// Registry, when set, receives every event through its subscriptions.
	// Set it before the first Publish.
	Registry *functions.Registry

	mu     sync.Mutex
	events []gamemesh.Event
	errs   []error
}

// Publish records ev (with Topic and Attempt set) and delivers it.
func (b *Bus) Publish(ctx context.Context, topic string, ev gamemesh.Event) error {
	ev.Topic, ev.Attempt = topic, 1
	b.mu.Lock()
	b.events = append(b.events, ev)
	b.mu.Unlock()
	if b.Registry == nil {
		return nil
	}
	for _, s := range b.Registry.Subscriptions() {
		if s.Topic == topic {
			if err := s.Handler(ctx, ev); err != nil {
				b.mu.Lock()
				b.errs = append(b.errs, err)
				b.mu.Unlock()
			}
		}
	}
	return nil
}

// Published returns a copy of the events published so far, in order.
func (b *Bus) Published() []gamemesh.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]gamemesh.Event(nil), b.events...)
}

// Errors returns a copy of the errors subscription handlers returned.
func (b *Bus) Errors() []error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]error(nil), b.errs...)
}
