package embedded

import (
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// groupCommit commits concurrent writes together without waiting for a
// timer: the first writer becomes the leader and commits every write queued
// so far in one bbolt transaction (one fsync); writes that arrive meanwhile
// wait for the next commit, led by the oldest of them. A lone writer commits
// at once. (bbolt's own Batch waits MaxBatchDelay before each commit, which
// costs more than it saves on this workload; see BenchmarkStoreSet.)
type groupCommit struct {
	mu      sync.Mutex
	pending []*writeReq
	leading bool
}

// maxCommitBatch bounds the writes shared by one transaction.
const maxCommitBatch = 1000

// writeReq is one write waiting for a commit.
type writeReq struct {
	fn   func(tx *bolt.Tx) error
	wake chan struct{} // done is set: finished; else: lead the next commit
	done bool
	err  error
}

// write runs fn in a read-write transaction, possibly shared with concurrent
// writes, and returns once it is committed. fn may run more than once (a
// failing write is retried alone, outside the shared transaction): it must
// decide everything from what it reads in tx.
func (db *DB) write(fn func(tx *bolt.Tx) error) error {
	g := &db.commits
	req := &writeReq{fn: fn, wake: make(chan struct{}, 1)}
	g.mu.Lock()
	g.pending = append(g.pending, req)
	if g.leading {
		g.mu.Unlock()
		<-req.wake
		if req.done {
			return req.err
		}
		g.mu.Lock() // handed the lead; req is still pending
	}
	g.leading = true
	n := min(len(g.pending), maxCommitBatch)
	batch := g.pending[:n:n]
	g.pending = append([]*writeReq(nil), g.pending[n:]...)
	g.mu.Unlock()

	db.commit(batch)

	g.mu.Lock()
	if len(g.pending) > 0 {
		g.pending[0].wake <- struct{}{} // hand the lead to the oldest waiting write
	} else {
		g.leading = false
	}
	g.mu.Unlock()
	return req.err
}

// commit runs batch in one transaction and wakes every request in it. If one write fails, the transaction is rolled back and each write
// runs in its own transaction, so that one bad write fails alone.
func (db *DB) commit(batch []*writeReq) {
	failed := false
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		for _, r := range batch {
			if err := safeRun(r.fn, tx); err != nil {
				failed = true
				return err
			}
		}
		return nil
	})
	for _, r := range batch {
		switch {
		case err == nil:
			r.err = nil
		case failed && len(batch) > 1:
			r.err = mapErr(db.bolt.Update(func(tx *bolt.Tx) error { return safeRun(r.fn, tx) }))
		default:
			r.err = mapErr(err)
		}
		r.done = true
		r.wake <- struct{}{} // buffered: the leader's own request is never read, harmlessly
	}
}

// safeRun runs fn, turning a panic into an error so that a commit never
// leaves the other writers of its batch waiting.
func safeRun(fn func(tx *bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("write panicked: %v", p)
		}
	}()
	return fn(tx)
}
