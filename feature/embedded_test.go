package feature_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/embedded"
	"github.com/gamemesh/gamemesh/feature"
)

// openFileConfig opens an embedded.FileConfig in a temporary directory; it
// is closed at cleanup, after Flags created later (cleanups run last first).
func openFileConfig(t *testing.T) (*embedded.FileConfig, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.json")
	log, _ := newLogger()
	fc, err := embedded.OpenFileConfig(path, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := fc.Close(); err != nil {
			t.Errorf("close config: %v", err)
		}
	})
	return fc, path
}

func mustSet(t *testing.T, fc *embedded.FileConfig, key, value string) {
	t.Helper()
	if _, err := fc.Set(key, value); err != nil {
		t.Fatalf("Set %s=%s: %v", key, value, err)
	}
}

// replaceFile writes content to path by rename, as an editor would.
func replaceFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestFileConfigMalformedKeepsLastKnownGood(t *testing.T) {
	fc, path := openFileConfig(t)
	f, reg, _ := started(t, fc, feature.Config{Reconcile: 20 * time.Millisecond})
	mustSet(t, fc, key(t, "mail"), "off")
	mustSet(t, fc, settingKey(t, "gate.max_online"), "300")
	eventually(t, "values applied", func() bool { return !f.Enabled("mail") && f.Int(feature.GateMaxOnline) == 300 })

	replaceFile(t, path, "{not json")
	time.Sleep(150 * time.Millisecond) // several re-reads of a malformed file
	if f.Enabled("mail") || f.Int(feature.GateMaxOnline) != 300 {
		t.Fatal("a malformed file changed the values in force")
	}

	// A well-formed file with invalid values: refused one by one.
	replaceFile(t, path, `{"feature.mail": "maybe||9", "setting.gate.max_online": "-1||9", "setting.gate.rate_burst": "7||1"}`)
	eventually(t, "the valid value of the file applied", func() bool { return f.Int(feature.GateRateBurst) == 7 })
	if f.Enabled("mail") || f.Int(feature.GateMaxOnline) != 300 {
		t.Fatal("invalid values replaced the last valid ones")
	}
	if metric(t, reg, "gamemesh_feature_config_refused_total", "key", "feature.mail") != 1 ||
		metric(t, reg, "gamemesh_feature_config_refused_total", "key", "setting.gate.max_online") != 1 {
		t.Fatal("refusals not counted once each")
	}

	// Fixed: keys removed from the file go back to their defaults.
	replaceFile(t, path, `{"feature.mail": "on||10"}`)
	eventually(t, "the fixed file applied", func() bool {
		return f.Enabled("mail") && f.Int(feature.GateMaxOnline) == 10_000 && f.Int(feature.GateRateBurst) == 100
	})
	if v := f.Current().Version(key(t, "mail")); v != "10" {
		t.Fatalf("version %q", v)
	}
}

// flaky wraps a ConfigSource with an outage the test switches: while down,
// Get and Subscribe fail and notifications are lost, and the subscriptions
// made before the outage never deliver again (like a stream that ended).
type flaky struct {
	gamemesh.ConfigSource
	mu    sync.Mutex
	down  bool
	epoch int
	live  int // subscriptions made in the current epoch
}

func (s *flaky) Get(ctx context.Context, keys []string) (map[string]gamemesh.ConfigItem, error) {
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down {
		return nil, errDown
	}
	return s.ConfigSource.Get(ctx, keys)
}

func (s *flaky) Subscribe(ctx context.Context, keys []string, fn func(map[string]gamemesh.ConfigItem)) error {
	s.mu.Lock()
	if s.down {
		s.mu.Unlock()
		return errDown
	}
	epoch := s.epoch
	s.live++
	s.mu.Unlock()
	return s.ConfigSource.Subscribe(ctx, keys, func(items map[string]gamemesh.ConfigItem) {
		s.mu.Lock()
		ok := !s.down && s.epoch == epoch
		s.mu.Unlock()
		if ok {
			fn(items)
		}
	})
}

func (s *flaky) setDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if down && !s.down {
		s.epoch++
		s.live = 0
	}
	s.down = down
}

func (s *flaky) liveSubs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live
}

func TestOutageKeepsLastKnownGoodAndConverges(t *testing.T) {
	fc, _ := openFileConfig(t)
	mustSet(t, fc, key(t, "mail"), "off")
	src := &flaky{ConfigSource: fc}
	f, reg, _ := started(t, src, feature.Config{Reconcile: 30 * time.Millisecond, MinBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond})
	if f.Enabled("mail") {
		t.Fatal("mail=off not read at start")
	}

	src.setDown(true)
	mustSet(t, fc, key(t, "mail"), "on") // made during the outage: not notified
	mustSet(t, fc, settingKey(t, "gate.max_online"), "77")
	s1 := metric(t, reg, "gamemesh_feature_config_staleness_seconds")
	time.Sleep(300 * time.Millisecond)
	s2 := metric(t, reg, "gamemesh_feature_config_staleness_seconds")
	t.Logf("staleness during the outage: %.3fs then %.3fs", s1, s2)
	if !(s2 > s1) || s2 < 0.25 {
		t.Fatalf("staleness did not grow during the outage: %.3f then %.3f", s1, s2)
	}
	if f.Enabled("mail") || f.Int(feature.GateMaxOnline) != 10_000 {
		t.Fatal("the last known good values did not survive the outage")
	}
	if metric(t, reg, "gamemesh_feature_config_errors_total", "op", "get") < 3 {
		t.Fatal("failed reads not counted")
	}

	src.setDown(false)
	eventually(t, "convergence after the outage", func() bool { return f.Enabled("mail") && f.Int(feature.GateMaxOnline) == 77 })
	eventually(t, "staleness back to normal", func() bool {
		return metric(t, reg, "gamemesh_feature_config_staleness_seconds") < 0.2
	})
	eventually(t, "a new subscription", func() bool { return src.liveSubs() >= 1 })
	if metric(t, reg, "gamemesh_feature_config_resubscribes_total") < 1 {
		t.Fatal("no resubscription after the outage")
	}

	// The new subscription delivers: a change reaches Flags.
	mustSet(t, fc, key(t, "mail"), "off")
	eventually(t, "mail=off after the outage", func() bool { return !f.Enabled("mail") })
}
