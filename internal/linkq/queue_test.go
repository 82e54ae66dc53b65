package linkq

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Items queued from many goroutines all reach send, each producer's in
// order, in fewer batches than items once the consumer lags; Close flushes
// what is queued, then last runs, then Sent is closed.
func TestQueueCoalescesAndFlushes(t *testing.T) {
	q := New[int](1 << 20)
	var got [][]int
	block := make(chan struct{})
	lastRan := false
	done := make(chan error, 1)
	go func() {
		first := true
		done <- q.Run(func(b []int) error {
			if first {
				first = false
				<-block // the consumer lags: the rest coalesces
			}
			got = append(got, slices.Clone(b))
			return nil
		}, func() { lastRan = true })
	}()
	const producers, each = 4, 500
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range each {
				if !q.Put(p*each + i) {
					t.Errorf("Put refused on an open queue")
				}
			}
		})
	}
	wg.Wait()
	close(block)
	if !q.Close() || q.Close() {
		t.Fatal("Close: want true once, then false")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	<-q.Sent()
	if !lastRan {
		t.Fatal("last did not run after the final batch")
	}
	var all []int
	for _, b := range got {
		all = append(all, b...)
	}
	if len(all) != producers*each {
		t.Fatalf("%d items sent, want %d", len(all), producers*each)
	}
	next := make([]int, producers)
	for _, v := range all {
		p := v / each
		if v != p*each+next[p] {
			t.Fatalf("producer %d's items out of order: %d after %d", p, v, p*each+next[p]-1)
		}
		next[p]++
	}
	if len(got) >= len(all) {
		t.Fatalf("%d batches for %d items: nothing coalesced", len(got), len(all))
	}
	if q.Put(1) {
		t.Fatal("Put accepted on a closed queue")
	}
}

// The bound refuses what would pass it (a multi-item Put wholly), and a send
// error ends Run with it.
func TestQueueBoundAndSendError(t *testing.T) {
	q := New[string](3)
	if !q.Put("a", "b") || q.Put("c", "d") || !q.Put("c") || q.Put("d") {
		t.Fatal("bound of 3 not enforced as documented")
	}
	if n := q.Drain(); n != 3 || !q.Put("x") || q.Drain() != 1 {
		t.Fatalf("Drain dropped %d, want 3 and then room again", n)
	}
	q.Put("a")
	boom := errors.New("stream broken")
	if err := q.Run(func([]string) error { return boom }, nil); !errors.Is(err, boom) {
		t.Fatalf("Run: %v, want the send error", err)
	}
	select {
	case <-q.Sent():
	default:
		t.Fatal("Sent not closed after Run returned")
	}
}
