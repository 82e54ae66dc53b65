package feature

import (
	"runtime/debug"
)

// watcher is one Watch registration; seen is the generation it last got.
type watcher struct {
	fn   func(*Snapshot)
	seen uint64
}

// Watch calls fn with the snapshot in force now, before returning, and then,
// from a goroutine of Flags, after every change of a switch or setting value
// (a new version of the same value is not a change), until the returned
// cancel is called or Flags stops. Calls to one fn never overlap and always
// carry a newer snapshot than the previous call; changes that land while fn
// runs are coalesced into the next call. fn should return quickly. A panic in
// fn is logged and does not stop other watchers.
func (f *Flags) Watch(fn func(*Snapshot)) (cancel func()) {
	w := &watcher{fn: fn}
	f.call(w, f.cur.Load())
	f.watchMu.Lock()
	f.watchers[w] = struct{}{}
	f.watchMu.Unlock()
	// A change published between the call above and the registration has
	// already woken the notifier, which may have missed w: wake it again.
	select {
	case f.wake <- struct{}{}:
	default:
	}
	return func() {
		f.watchMu.Lock()
		delete(f.watchers, w)
		f.watchMu.Unlock()
	}
}

// notifyLoop hands new snapshots to the watchers until Stop.
func (f *Flags) notifyLoop() {
	for {
		select {
		case <-f.runCtx.Done():
			return
		case <-f.wake:
		}
		s := f.cur.Load()
		f.watchMu.Lock()
		ws := make([]*watcher, 0, len(f.watchers))
		for w := range f.watchers {
			if w.seen < s.gen {
				ws = append(ws, w)
			}
		}
		f.watchMu.Unlock()
		for _, w := range ws {
			if f.runCtx.Err() != nil {
				return
			}
			f.call(w, s)
		}
	}
}

// call runs w.fn(s), logging a panic.
func (f *Flags) call(w *watcher, s *Snapshot) {
	w.seen = s.gen
	defer func() {
		if r := recover(); r != nil {
			f.log.Error("feature watcher panicked", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	w.fn(s)
}
