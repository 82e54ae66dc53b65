package embedded

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/gamemesh/gamemesh"
)

// configSub is one Subscribe call: changes are merged into pending and handed
// to fn by the subscription's own goroutine, one call at a time.
type configSub struct {
	keys    map[string]bool // nil: every key
	fn      func(map[string]gamemesh.ConfigItem)
	signal  chan struct{}
	pending map[string]gamemesh.ConfigItem // guarded by FileConfig.mu
}

// Subscribe implements gamemesh.ConfigSource. Empty keys subscribes to every
// key. fn is called from a goroutine owned by fc, one call at a time, until
// ctx is done or fc is closed; changes that arrive while fn runs are merged
// into the next call.
func (fc *FileConfig) Subscribe(ctx context.Context, keys []string, fn func(map[string]gamemesh.ConfigItem)) error {
	if fn == nil {
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "config subscription has no callback")
	}
	if err := ctx.Err(); err != nil {
		return gamemesh.Wrap(gamemesh.CodeOf(err), err, gamemesh.MessageOf(err))
	}
	s := &configSub{fn: fn, signal: make(chan struct{}, 1), pending: make(map[string]gamemesh.ConfigItem)}
	if len(keys) > 0 {
		s.keys = make(map[string]bool, len(keys))
		for _, k := range keys {
			s.keys[k] = true
		}
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if fc.closed {
		return errConfigClosed
	}
	fc.subs[s] = struct{}{}
	fc.wg.Go(func() { fc.serve(ctx, s) })
	return nil
}

// serve hands pending changes to s.fn until ctx is done or fc is closed.
func (fc *FileConfig) serve(ctx context.Context, s *configSub) {
	defer func() {
		fc.mu.Lock()
		delete(fc.subs, s)
		fc.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-fc.stop:
			return
		case <-s.signal:
		}
		fc.mu.Lock()
		changes := s.pending
		s.pending = make(map[string]gamemesh.ConfigItem)
		fc.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		if len(changes) > 0 {
			fc.call(s, changes)
		}
	}
}

// call runs s.fn, logging a panic instead of taking the process down: a
// broken subscriber must not stop configuration updates to the others.
func (fc *FileConfig) call(s *configSub, changes map[string]gamemesh.ConfigItem) {
	defer func() {
		if r := recover(); r != nil {
			fc.log.Error("config subscriber panicked", "panic", r, "stack", string(debug.Stack()))
		}
	}()
	s.fn(changes)
}

// watch re-reads the file on every event about it and on a timer, until Close.
func (fc *FileConfig) watch() {
	base := filepath.Base(fc.path)
	tick := time.NewTicker(ConfigRereadInterval)
	defer tick.Stop()
	for {
		select {
		case <-fc.stop:
			return
		case ev, ok := <-fc.watcher.Events:
			if !ok {
				return
			}
			if filepath.Base(ev.Name) == base {
				fc.reload()
			}
		case err, ok := <-fc.watcher.Errors:
			if !ok {
				return
			}
			fc.log.Warn("config file watcher", "err", err)
			fc.reload()
		case <-tick.C:
			fc.reload()
		}
	}
}

// reload re-reads the file and notifies subscribers of changed and deleted
// keys. A malformed file is logged (once per content) and ignored.
func (fc *FileConfig) reload() {
	fc.reloadMu.Lock()
	defer fc.reloadMu.Unlock()
	data, err := os.ReadFile(fc.path)
	var items map[string]gamemesh.ConfigItem
	switch {
	case errors.Is(err, fs.ErrNotExist):
		items = map[string]gamemesh.ConfigItem{}
	case err != nil:
		fc.log.Warn("config file unreadable; keeping the last good values", "err", err)
		return
	default:
		items, err = parseConfig(data)
		if err != nil {
			fc.mu.Lock()
			repeated := fc.lastBad == string(data)
			fc.lastBad = string(data)
			fc.mu.Unlock()
			if !repeated {
				fc.log.Warn("config file malformed; keeping the last good values", "err", err)
			}
			return
		}
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	fc.lastBad = ""
	changes := diffConfig(fc.items, items)
	fc.items = items
	if len(changes) == 0 {
		return
	}
	for s := range fc.subs {
		n := 0
		for k, it := range changes {
			if s.keys == nil || s.keys[k] {
				s.pending[k] = it
				n++
			}
		}
		if n > 0 {
			select {
			case s.signal <- struct{}{}:
			default:
			}
		}
	}
}

// diffConfig returns the items of next that differ from prev, and the keys of
// prev missing from next as empty items.
func diffConfig(prev, next map[string]gamemesh.ConfigItem) map[string]gamemesh.ConfigItem {
	changes := make(map[string]gamemesh.ConfigItem)
	for k, it := range next {
		if old, ok := prev[k]; !ok || old != it {
			changes[k] = it
		}
	}
	for k := range prev {
		if _, ok := next[k]; !ok {
			changes[k] = gamemesh.ConfigItem{}
		}
	}
	return changes
}
