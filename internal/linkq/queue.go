// Package linkq is the coalescing send queue of both ends of a scene link
// (gate ⇄ scene host): producers queue items from any goroutine, and one
// send loop ships everything queued since its last send as one batch, so a
// burst (a tick's updates, a batch of inputs) costs one stream message.
package linkq

import "sync"

// Queue is a bounded, coalescing queue of T with one consumer (Run).
type Queue[T any] struct {
	max  int
	wake chan struct{}
	done chan struct{} // closed by Close
	sent chan struct{} // closed when Run returned

	mu      sync.Mutex
	pending []T
	closed  bool
}

// New returns an open Queue holding at most max items at a time.
func New[T any](max int) *Queue[T] {
	return &Queue[T]{max: max, wake: make(chan struct{}, 1), done: make(chan struct{}), sent: make(chan struct{})}
}

// Put queues items, in order; false (and nothing queued) when the queue is
// closed or they would take it over its bound.
func (q *Queue[T]) Put(items ...T) bool {
	q.mu.Lock()
	if q.closed || len(q.pending)+len(items) > q.max {
		q.mu.Unlock()
		return false
	}
	q.pending = append(q.pending, items...)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return true
}

// Close refuses new items; Run sends what is queued and returns. It reports
// whether this call closed the queue.
func (q *Queue[T]) Close() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	q.closed = true
	close(q.done)
	return true
}

// Drain drops what is queued and reports how many items it dropped (for a
// caller that measures producers without a consumer).
func (q *Queue[T]) Drain() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := len(q.pending)
	clear(q.pending)
	q.pending = q.pending[:0]
	return n
}

// Done is closed by Close.
func (q *Queue[T]) Done() <-chan struct{} { return q.done }

// Sent is closed once Run has returned: after Close, everything queued
// before it was handed to send (unless send failed).
func (q *Queue[T]) Sent() <-chan struct{} { return q.sent }

// Run hands send every batch queued since the last one until the queue is
// closed, then the last batch, then calls last (if not nil), and returns
// nil; or it returns send's first error. A batch's slice is reused once send
// returns. Run must be called once.
func (q *Queue[T]) Run(send func([]T) error, last func()) error {
	defer close(q.sent)
	var spare []T
	for {
		final := false
		select {
		case <-q.done:
			final = true
		case <-q.wake:
		}
		q.mu.Lock()
		batch := q.pending
		q.pending = spare[:0]
		q.mu.Unlock()
		if len(batch) > 0 {
			if err := send(batch); err != nil {
				return err
			}
		}
		if final {
			if last != nil {
				last()
			}
			return nil
		}
		clear(batch)
		spare = batch
	}
}
