//go:build integration

package integration

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/dapr"
	"github.com/gamemesh/gamemesh/meshtest"
)

// TestConfigConformance runs the config suite against dapr.ConfigSource over
// configuration.redis, with a reconcile period long enough that every
// notification the suite waits for comes through the subscription stream.
func TestConfigConformance(t *testing.T) {
	r := StartRedis(t)
	sc := StartSidecar(t, r, SidecarOptions{AppID: "mail"})
	c := sc.Client(t)
	meshtest.TestConfig(t, func(t *testing.T) (gamemesh.ConfigSource, func(key, value, version string) error) {
		cs := dapr.NewConfigSource(c, "configstore", dapr.ConfigOptions{Reconcile: time.Hour, Logger: testLogger(t)})
		t.Cleanup(cs.Close)
		return cs, r.SetConfig
	})
}

// configWatcher records what a subscription delivered.
type configWatcher struct {
	mu      sync.Mutex
	last    map[string]gamemesh.ConfigItem
	deletes int
	calls   int
}

func watchConfig(t *testing.T, cs *dapr.ConfigSource, keys ...string) *configWatcher {
	t.Helper()
	w := &configWatcher{last: map[string]gamemesh.ConfigItem{}}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := cs.Subscribe(ctx, keys, w.record); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	cur, err := cs.Get(ctx, keys)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	w.record(cur)
	return w
}

func (w *configWatcher) record(items map[string]gamemesh.ConfigItem) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls++
	for k, it := range items {
		if it.Value == "" {
			w.deletes++
		}
		w.last[k] = it
	}
}

func (w *configWatcher) get(key string) gamemesh.ConfigItem {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last[key]
}

func (w *configWatcher) deleted() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.deletes
}

func (w *configWatcher) waitFor(t *testing.T, what, key string, want gamemesh.ConfigItem, within time.Duration) time.Duration {
	t.Helper()
	began := time.Now()
	if !waitUntil(within, func() bool { return w.get(key) == want }) {
		t.Fatalf("%s: %s = %+v after %v, want %+v", what, key, w.get(key), within, want)
	}
	return time.Since(began)
}

func item(value, version string) gamemesh.ConfigItem {
	return gamemesh.ConfigItem{Value: value, Version: version}
}

// TestConfigSurvivesSidecarRestart: the sidecar is killed; the subscriber
// keeps its values (no deletion delivered, reads fail), a change made while
// the sidecar is down is delivered once it is back (resubscribe + re-read),
// and later changes arrive through the new stream.
func TestConfigSurvivesSidecarRestart(t *testing.T) {
	r := StartRedis(t)
	sc := StartSidecar(t, r, SidecarOptions{AppID: "mail"})
	c := sc.Client(t)
	// A reconcile period far beyond the test: what arrives comes from the
	// stream or from the re-read right after resubscribing.
	cs := dapr.NewConfigSource(c, "configstore", dapr.ConfigOptions{
		Reconcile: time.Hour, MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond, Logger: testLogger(t),
	})
	t.Cleanup(cs.Close)
	if err := r.SetConfig("guild", "on", "1"); err != nil {
		t.Fatal(err)
	}
	w := watchConfig(t, cs, "guild", "mail.max_attachments")
	if got := w.get("guild"); got != item("on", "1") {
		t.Fatalf("initial value %+v", got)
	}

	sc.Kill()
	if err := r.SetConfig("guild", "off", "2"); err != nil { // missed: no sidecar to notify
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if got := w.get("guild"); got != item("on", "1") || w.deleted() != 0 {
		t.Fatalf("while the sidecar is down: guild = %+v, %d deletions; want the last known value kept", got, w.deleted())
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	_, err := cs.Get(ctx, []string{"guild"})
	cancel()
	if code := gamemesh.CodeOf(err); code != gamemesh.CodeUnavailable && code != gamemesh.CodeDeadlineExceeded {
		t.Fatalf("Get while the sidecar is down: CodeOf = %v (%v), want UNAVAILABLE", code, err)
	}

	sc.Restart()
	took := w.waitFor(t, "change made while the sidecar was down", "guild", item("off", "2"), 15*time.Second)
	t.Logf("missed change delivered %v after the sidecar was healthy again", took.Round(time.Millisecond))
	if err := r.SetConfig("mail.max_attachments", "5", "3"); err != nil {
		t.Fatal(err)
	}
	w.waitFor(t, "change after the restart", "mail.max_attachments", item("5", "3"), 5*time.Second)
	if w.deleted() != 0 {
		t.Fatalf("%d deletions delivered, want none", w.deleted())
	}
}

// TestConfigSurvivesRedisRestart: Redis restarts (forgetting run-time
// settings: notify-keyspace-events must come from redis.conf). Subscribers
// keep their values while it is down, and changes made after it is back are
// delivered, through notifications (long reconcile) and re-reads (short).
func TestConfigSurvivesRedisRestart(t *testing.T) {
	r := StartRedis(t)
	sc := StartSidecar(t, r, SidecarOptions{AppID: "mail"})
	c := sc.Client(t)
	notified := dapr.NewConfigSource(c, "configstore", dapr.ConfigOptions{Reconcile: time.Hour, MaxBackoff: 500 * time.Millisecond, Logger: testLogger(t)})
	t.Cleanup(notified.Close)
	reread := dapr.NewConfigSource(c, "configstore", dapr.ConfigOptions{Reconcile: 300 * time.Millisecond, MaxBackoff: 500 * time.Millisecond, Logger: testLogger(t)})
	t.Cleanup(reread.Close)
	if err := r.SetConfig("login.max_online", "1000", "1"); err != nil {
		t.Fatal(err)
	}
	wn := watchConfig(t, notified, "login.max_online")
	wr := watchConfig(t, reread, "login.max_online")

	r.Stop()
	time.Sleep(1500 * time.Millisecond) // several failed re-reads
	for name, w := range map[string]*configWatcher{"notified": wn, "reread": wr} {
		if got := w.get("login.max_online"); got != item("1000", "1") || w.deleted() != 0 {
			t.Fatalf("%s subscriber while Redis is down: %+v, %d deletions; want the last known value kept", name, got, w.deleted())
		}
	}
	r.Start()
	// A change right after the restart: notifications are lost until the
	// sidecar's component has resubscribed to Redis; the re-read catches it.
	if err := r.SetConfig("login.max_online", "2000", "2"); err != nil {
		t.Fatal(err)
	}
	took := wr.waitFor(t, "re-reading subscriber after Redis restart", "login.max_online", item("2000", "2"), 10*time.Second)
	t.Logf("re-reading subscriber got the change made at once in %v", took.Round(time.Millisecond))

	// Once the component has resubscribed (keyspace channel has subscribers
	// again, with notify-keyspace-events from redis.conf), notifications flow.
	channel := "__keyspace@0__:login.max_online"
	began := time.Now()
	if !waitUntil(30*time.Second, func() bool { return r.NumSub(channel) >= 2 }) {
		t.Fatalf("the sidecar's configuration component did not resubscribe to %s", channel)
	}
	t.Logf("configuration.redis resubscribed %v after Redis was back", time.Since(began).Round(time.Millisecond))
	if err := r.SetConfig("login.max_online", "3000", "3"); err != nil {
		t.Fatal(err)
	}
	took = wn.waitFor(t, "notified subscriber after Redis restart", "login.max_online", item("3000", "3"), 5*time.Second)
	t.Logf("notified subscriber got the change in %v", took.Round(time.Millisecond))
	if wn.deleted()+wr.deleted() != 0 {
		t.Fatalf("deletions delivered: %d, %d; want none", wn.deleted(), wr.deleted())
	}
}
