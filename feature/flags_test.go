package feature_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gamemesh/gamemesh/feature"
)

func TestDefaultsAndOverrides(t *testing.T) {
	f, reg, _ := started(t, newFakeSource(), feature.Config{Defaults: map[string]string{"gate.max_online": "7"}})
	for _, id := range append(feature.DefaultSystems(), "unknown_system") {
		if !f.Enabled(id) {
			t.Errorf("%s is off by default", id)
		}
	}
	if got := f.Int(feature.GateMaxOnline); got != 7 {
		t.Errorf("max online %d, want the override 7", got)
	}
	if got := f.Int(feature.GateQueueCap); got != 5000 {
		t.Errorf("queue cap %d", got)
	}
	if got := f.Float(feature.GateRateLimit); got != 50 {
		t.Errorf("rate limit %v", got)
	}
	if got := f.Duration(feature.SceneFlushInterval); got != 30*time.Second {
		t.Errorf("flush interval %v", got)
	}
	if got := f.Duration(feature.LuaCallDeadline); got != 250*time.Millisecond { // luavm.DefaultLimits().CallTimeout
		t.Errorf("call deadline %v", got)
	}
	if !f.Synced() || metric(t, reg, "gamemesh_feature_config_synced") != 1 {
		t.Error("not synced after a successful first read")
	}
	if got := f.Current().Settings()["gate.max_online"]; got != "7" {
		t.Errorf("Settings()[gate.max_online] = %q", got)
	}
	sw := f.Current().Switches()
	if len(sw) != len(feature.DefaultSystems()) || !sw["mail"] {
		t.Errorf("switches %v", sw)
	}
}

func TestNotificationsApply(t *testing.T) {
	src := newFakeSource()
	src.setQuietly(key(t, "guild"), "off", "4")
	f, reg, _ := started(t, src, feature.Config{Reconcile: time.Hour})
	if f.Enabled("guild") {
		t.Fatal("the first read did not apply guild=off")
	}
	if v := f.Current().Version(key(t, "guild")); v != "4" {
		t.Fatalf("version %q", v)
	}

	src.set(key(t, "mail"), "off", "1") // delivered synchronously by the fake
	if f.Enabled("mail") || !f.Enabled("player") {
		t.Fatal("mail=off not applied, or applied to another system")
	}
	src.set(settingKey(t, "gate.max_online"), "123", "2")
	if got := f.Int(feature.GateMaxOnline); got != 123 {
		t.Fatalf("max online %d", got)
	}
	if metric(t, reg, "gamemesh_feature_enabled", "system", "mail") != 0 ||
		metric(t, reg, "gamemesh_feature_enabled", "system", "player") != 1 {
		t.Fatal("enabled gauge")
	}
	if metric(t, reg, "gamemesh_feature_config_version", "key", "setting.gate.max_online") != 2 ||
		metric(t, reg, "gamemesh_feature_config_version", "key", "feature.guild") != 4 ||
		metric(t, reg, "gamemesh_feature_config_version", "key", "feature.chat") != 0 {
		t.Fatal("version gauge")
	}

	// A deleted key brings the default back.
	src.set(key(t, "mail"), "", "")
	src.set(settingKey(t, "gate.max_online"), "", "")
	if !f.Enabled("mail") || f.Int(feature.GateMaxOnline) != 10_000 {
		t.Fatal("deleting the keys did not restore the defaults")
	}
	if f.Current().Version(key(t, "mail")) != "" {
		t.Fatal("a deleted key kept its version")
	}
}

func TestInvalidValuesRefused(t *testing.T) {
	src := newFakeSource()
	f, reg, logs := started(t, src, feature.Config{Reconcile: time.Hour})
	src.set(key(t, "mail"), "off", "1")
	src.set(settingKey(t, "gate.max_online"), "500", "1")
	src.set(settingKey(t, "gate.rate_limit"), "20.5", "1")
	before := f.Current()

	bad := []struct{ key, value string }{
		{key(t, "mail"), "maybe"},
		{key(t, "mail"), "true"},
		{settingKey(t, "gate.max_online"), "abc"},
		{settingKey(t, "gate.max_online"), "1.5"},
		{settingKey(t, "gate.max_online"), "-3"},
		{settingKey(t, "gate.max_online"), "99999999"},
		{settingKey(t, "gate.rate_limit"), "NaN"},
		{settingKey(t, "gate.rate_limit"), "0"},
	}
	for i, b := range bad {
		src.set(b.key, b.value, "9"+string(rune('0'+i)))
		cur := f.Current()
		if cur != before {
			t.Fatalf("%s=%q changed the snapshot: gen %d → %d", b.key, b.value, before.Generation(), cur.Generation())
		}
		if !strings.Contains(logs.String(), "invalid config value refused") || !strings.Contains(logs.String(), b.value) {
			t.Fatalf("%s=%q refused without a log line:\n%s", b.key, b.value, logs)
		}
	}
	if f.Enabled("mail") || f.Int(feature.GateMaxOnline) != 500 || f.Float(feature.GateRateLimit) != 20.5 {
		t.Fatal("the last valid values are not in force")
	}
	if got := metric(t, reg, "gamemesh_feature_config_refused_total", "key", "setting.gate.max_online"); got != 4 {
		t.Fatalf("refused counter %v, want 4", got)
	}
	// The same refused item, read again, is logged and counted once.
	n := strings.Count(logs.String(), "invalid config value refused")
	src.set(settingKey(t, "gate.max_online"), "99999999", "95")
	if strings.Count(logs.String(), "invalid config value refused") != n {
		t.Fatal("a refusal was logged twice")
	}
	// A valid value after invalid ones is applied.
	src.set(settingKey(t, "gate.max_online"), "600", "10")
	if f.Int(feature.GateMaxOnline) != 600 {
		t.Fatal("a valid value after refused ones was not applied")
	}
}

func TestReconcileRepairsMissedNotifications(t *testing.T) {
	src := newFakeSource()
	f, reg, _ := started(t, src, feature.Config{Reconcile: 20 * time.Millisecond})
	if src.liveSubs() != 1 {
		t.Fatalf("%d subscriptions after Start", src.liveSubs())
	}
	// The subscription dies without a word (go-sdk #690), and a change is
	// made: only the re-read can see it.
	src.killSubs()
	src.setQuietly(key(t, "mail"), "off", "1")
	eventually(t, "the re-read to apply mail=off", func() bool { return !f.Enabled("mail") })
	eventually(t, "a new subscription", func() bool { return src.liveSubs() == 1 })
	if metric(t, reg, "gamemesh_feature_config_repairs_total") < 1 || metric(t, reg, "gamemesh_feature_config_resubscribes_total") < 1 {
		t.Fatal("repair or resubscription not counted")
	}
	// The new subscription delivers (synchronously, in the fake).
	src.set(key(t, "mail"), "on", "2")
	if !f.Enabled("mail") {
		t.Fatal("the new subscription does not deliver")
	}
}

func TestSubscribeRetried(t *testing.T) {
	src := newFakeSource()
	src.setErrs(nil, errDown)
	src.setQuietly(key(t, "pvp"), "off", "1")
	f, reg, _ := started(t, src, feature.Config{Reconcile: time.Hour, MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	if f.Enabled("pvp") {
		t.Fatal("the first read must apply even when Subscribe failed")
	}
	eventually(t, "subscribe retried", func() bool { return metric(t, reg, "gamemesh_feature_config_errors_total", "op", "subscribe") >= 3 })
	src.setErrs(nil, nil)
	eventually(t, "a subscription", func() bool { return src.liveSubs() == 1 })
	src.set(key(t, "pvp"), "on", "2")
	if !f.Enabled("pvp") {
		t.Fatal("the retried subscription does not deliver")
	}
}

func TestStartWhileStoreDown(t *testing.T) {
	src := newFakeSource()
	src.setErrs(errDown, nil)
	src.setQuietly(key(t, "dungeon"), "off", "3")
	f, reg, logs := started(t, src, feature.Config{Reconcile: 10 * time.Millisecond})
	if f.Synced() || metric(t, reg, "gamemesh_feature_config_synced") != 0 {
		t.Fatal("synced while the store is down")
	}
	if !f.Enabled("dungeon") {
		t.Fatal("not on the defaults")
	}
	if !strings.Contains(logs.String(), "running on the defaults") {
		t.Fatalf("start on defaults not logged:\n%s", logs)
	}
	src.setErrs(nil, nil)
	eventually(t, "synced", func() bool { return f.Synced() && !f.Enabled("dungeon") })
	if metric(t, reg, "gamemesh_feature_config_synced") != 1 {
		t.Fatal("synced gauge")
	}
}

func TestRequireInitialRead(t *testing.T) {
	src := newFakeSource()
	src.setErrs(errDown, nil)
	f, _, _ := newFlags(t, src, feature.Config{RequireInitialRead: true})
	err := f.Start(context.Background())
	if err == nil || !errors.Is(err, errDown) {
		t.Fatalf("Start: %v, want the read error", err)
	}
	if src.liveSubs() != 0 {
		t.Fatal("a refused start left its subscription")
	}
	if err := f.Start(context.Background()); err == nil {
		t.Fatal("second Start accepted")
	}
}

func TestReadDoesNotUndoNewerNotification(t *testing.T) {
	src := newFakeSource()
	src.setQuietly(key(t, "chat"), "on", "1")
	f, _, _ := started(t, src, feature.Config{Reconcile: 5 * time.Millisecond})

	// Hold the next re-read after it has read chat=on, deliver chat=off by
	// notification, then let the stale read finish.
	inGet, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	src.mu.Lock()
	src.getHook = func() { once.Do(func() { close(inGet); <-release }) }
	src.mu.Unlock()
	<-inGet
	src.set(key(t, "chat"), "off", "2")
	close(release)
	// Wait for two more re-reads (they now read chat=off) and check the
	// value never went back.
	src.mu.Lock()
	src.getHook = nil
	n := src.gets
	src.mu.Unlock()
	eventually(t, "two more reads", func() bool {
		src.mu.Lock()
		defer src.mu.Unlock()
		return src.gets >= n+2
	})
	if f.Enabled("chat") {
		t.Fatal("a stale read undid a newer notification")
	}
}

func TestWatch(t *testing.T) {
	src := newFakeSource()
	f, _, _ := started(t, src, feature.Config{Reconcile: time.Hour})
	var mu sync.Mutex
	var got []int
	cancel := f.Watch(func(s *feature.Snapshot) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, s.Int(feature.GateMaxOnline))
	})
	calls := func() []int {
		mu.Lock()
		defer mu.Unlock()
		return append([]int(nil), got...)
	}
	if c := calls(); len(c) != 1 || c[0] != 10_000 {
		t.Fatalf("Watch did not call at once with the current values: %v", c)
	}
	f.Watch(func(*feature.Snapshot) { panic("broken watcher") })

	src.set(settingKey(t, "gate.max_online"), "42", "1")
	eventually(t, "the watcher to see 42", func() bool { c := calls(); return c[len(c)-1] == 42 })
	// The same value under a new version is not a change for watchers.
	src.set(settingKey(t, "gate.max_online"), "42", "2")
	src.set(key(t, "mail"), "off", "1") // a change: wakes the watchers
	eventually(t, "the watcher to run again", func() bool { return len(calls()) >= 3 })
	if c := calls(); len(c) != 3 {
		t.Fatalf("calls %v", c)
	}
	cancel()
	src.set(settingKey(t, "gate.max_online"), "43", "3")
	time.Sleep(50 * time.Millisecond)
	if c := calls(); len(c) != 3 {
		t.Fatalf("called after cancel: %v", c)
	}
}

func TestAddSystems(t *testing.T) {
	src := newFakeSource()
	src.setQuietly(key(t, "lua_quest"), "off", "1")
	f, _, _ := started(t, src, feature.Config{Systems: []string{"lua_drop"}, Reconcile: time.Hour})
	if !f.Enabled("lua_quest") {
		t.Fatal("an unwatched system must be on")
	}
	if err := f.AddSystems("bad.id"); err == nil {
		t.Fatal("invalid id accepted")
	}
	if err := f.AddSystems("lua_quest"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "lua_quest read", func() bool { return !f.Enabled("lua_quest") })
	eventually(t, "a subscription with the new key", func() bool { return src.liveSubs() >= 1 })
	src.set(key(t, "lua_drop"), "off", "1")
	if f.Enabled("lua_drop") {
		t.Fatal("lua_drop from Config.Systems not watched")
	}
	if sw := f.Current().Switches(); sw["lua_quest"] || sw["lua_drop"] || !sw["mail"] {
		t.Fatalf("switches %v", sw)
	}
}

func TestMetricsRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	src := newFakeSource()
	if _, err := feature.New(feature.Config{}, feature.Deps{Source: src, Metrics: reg}); err != nil {
		t.Fatal(err)
	}
	if _, err := feature.New(feature.Config{}, feature.Deps{Source: src, Metrics: reg}); err == nil {
		t.Fatal("registering twice on one registry must fail")
	}
	wrapped := prometheus.WrapRegistererWithPrefix("second_", reg)
	if _, err := feature.New(feature.Config{}, feature.Deps{Source: src, Metrics: wrapped}); err != nil {
		t.Fatalf("a wrapped registerer: %v", err)
	}
	if _, err := feature.New(feature.Config{}, feature.Deps{Source: src}); err != nil {
		t.Fatalf("no registry: %v", err)
	}
}

func TestLifecycle(t *testing.T) {
	f, _, _ := newFlags(t, newFakeSource(), feature.Config{})
	if err := f.Stop(context.Background()); err != nil {
		t.Fatalf("Stop before Start: %v", err)
	}
	if !f.Enabled("mail") {
		t.Fatal("defaults before Start")
	}
	if err := f.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := f.Start(context.Background()); err == nil {
		t.Fatal("second Start accepted")
	}
	for range 2 {
		if err := f.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if !f.Enabled("mail") {
		t.Fatal("values unreadable after Stop")
	}
}

// TestEnabledWhileFlipping reads switches from many goroutines while they
// change; the race detector checks the snapshot hand-over.
func TestEnabledWhileFlipping(t *testing.T) {
	src := newFakeSource()
	f, _, _ := started(t, src, feature.Config{Reconcile: time.Millisecond})
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				_ = f.Enabled("mail")
				_ = f.Int(feature.GateMaxOnline)
			}
		})
	}
	for i := range 200 {
		src.set(key(t, "mail"), []string{"on", "off"}[i%2], "1"+string(rune('0'+i%10)))
	}
	stop.Store(true)
	wg.Wait()
}
