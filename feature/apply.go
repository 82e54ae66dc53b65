package feature

import (
	"maps"
	"slices"

	"github.com/gamemesh/gamemesh"
)

// apply merges items into the values in force and returns the keys whose
// value changed. A notification (read false) carries changed keys only and
// is applied in full; a read (read true) carries every key of keys, absent
// ones being deleted, but skips keys a notification carried after the read
// began (seq above since): the notification is newer. (A notification that
// arrives after a newer read is applied; the source's next notification or
// the next read corrects it.)
func (f *Flags) apply(items map[string]gamemesh.ConfigItem, read bool, keys []string, since uint64) (changed []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return nil
	}
	if !read {
		f.seq++
		keys = keys[:0]
		for k := range items {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		info, watched := f.info[k]
		if !watched {
			continue
		}
		if read && f.touched[k] > since {
			continue
		}
		if !read {
			f.touched[k] = f.seq
		}
		it, present := items[k]
		if f.update(k, info, it, present && it.Value != "") {
			changed = append(changed, k)
		}
	}
	if len(changed) > 0 {
		f.publish()
	}
	return changed
}

// update applies one key's new state; f.mu must be held. An invalid value is
// refused (logged and counted once per item) and changes nothing.
func (f *Flags) update(key string, info keyInfo, it gamemesh.ConfigItem, present bool) bool {
	prev, had := f.valid[key]
	if !present {
		delete(f.refused, key)
		if had {
			delete(f.valid, key)
			f.log.Info("config key removed: default in force", "key", key, "previous", prev.Value)
		}
		return had
	}
	if had && prev == it {
		delete(f.refused, key)
		return false
	}
	if err := check(info, it.Value); err != nil {
		if last, ok := f.refused[key]; !ok || last != it {
			f.refused[key] = it
			inForce := "default"
			if had {
				inForce = prev.Value + " (version " + prev.Version + ")"
			}
			f.log.Warn("invalid config value refused: the last valid value stays in force",
				"key", key, "value", it.Value, "version", it.Version, "in_force", inForce, "err", gamemesh.MessageOf(err))
			f.m.refused.WithLabelValues(key).Inc()
		}
		return false
	}
	delete(f.refused, key)
	f.valid[key] = it
	f.log.Info("config value applied", "key", key, "value", it.Value, "version", it.Version)
	return true
}

// check validates a raw value for the key described by info.
func check(info keyInfo, value string) error {
	if info.setting < 0 {
		_, err := ParseSwitch(value)
		return err
	}
	_, err := table[info.setting].Parse(value)
	return err
}

// publish builds and stores a new snapshot from the valid items, updates the
// metrics, and wakes the watchers if a value changed; f.mu must be held (or f
// not yet shared).
func (f *Flags) publish() {
	old := f.cur.Load()
	s := &Snapshot{
		systems:  slices.Clone(f.systems),
		disabled: make(map[string]struct{}),
		values:   f.defaults,
		versions: make(map[string]string, len(f.valid)),
	}
	if old != nil {
		s.gen = old.gen + 1
	}
	for k, it := range f.valid {
		info := f.info[k]
		if info.setting < 0 {
			if on, _ := ParseSwitch(it.Value); !on {
				s.disabled[info.system] = struct{}{}
			}
		} else {
			s.values[info.setting], _ = table[info.setting].Parse(it.Value)
		}
		s.versions[k] = it.Version
	}
	f.cur.Store(s)
	f.m.observe(f.keys, f.info, s)
	if old != nil && (s.values != old.values || !maps.Equal(s.disabled, old.disabled)) {
		select {
		case f.wake <- struct{}{}:
		default:
		}
	}
}
