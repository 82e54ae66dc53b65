package feature_test

import (
	"bytes"
	"context"
	"log/slog"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/feature"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wait bounds every wait for a change to propagate; generous so that a slow
// machine passes and a broken watcher fails.
const wait = 5 * time.Second

// eventually polls cond until it holds or wait passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// logBuffer is a log sink safe for concurrent writes.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newLogger() (*slog.Logger, *logBuffer) {
	buf := &logBuffer{}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// fakeSource is an in-memory ConfigSource whose faults the test controls.
// Notifications are delivered synchronously by set, from the test's
// goroutine (so one at a time).
type fakeSource struct {
	mu      sync.Mutex
	items   map[string]gamemesh.ConfigItem
	getErr  error
	subErr  error
	subs    []*fakeSub
	getHook func() // called by Get between reading and returning (nil: none)
	gets    int
}

type fakeSub struct {
	ctx  context.Context
	keys map[string]bool
	fn   func(map[string]gamemesh.ConfigItem)
	dead bool
}

func newFakeSource() *fakeSource {
	return &fakeSource{items: map[string]gamemesh.ConfigItem{}}
}

func (s *fakeSource) Get(ctx context.Context, keys []string) (map[string]gamemesh.ConfigItem, error) {
	s.mu.Lock()
	s.gets++
	if s.getErr != nil {
		err := s.getErr
		s.mu.Unlock()
		return nil, err
	}
	out := map[string]gamemesh.ConfigItem{}
	for _, k := range keys {
		if it, ok := s.items[k]; ok {
			out[k] = it
		}
	}
	hook := s.getHook
	s.mu.Unlock()
	if hook != nil {
		hook()
	}
	return out, ctx.Err()
}

func (s *fakeSource) Subscribe(ctx context.Context, keys []string, fn func(map[string]gamemesh.ConfigItem)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.subErr != nil {
		return s.subErr
	}
	sub := &fakeSub{ctx: ctx, keys: map[string]bool{}, fn: fn}
	for _, k := range keys {
		sub.keys[k] = true
	}
	s.subs = append(s.subs, sub)
	return nil
}

// set writes key (an empty value deletes it) and notifies live subscriptions.
func (s *fakeSource) set(key, value, version string) {
	s.mu.Lock()
	it := gamemesh.ConfigItem{Value: value, Version: version}
	if value == "" {
		delete(s.items, key)
		it = gamemesh.ConfigItem{}
	} else {
		s.items[key] = it
	}
	var fns []func(map[string]gamemesh.ConfigItem)
	for _, sub := range s.subs {
		if !sub.dead && sub.ctx.Err() == nil && sub.keys[key] {
			fns = append(fns, sub.fn)
		}
	}
	s.mu.Unlock()
	for _, fn := range fns {
		fn(map[string]gamemesh.ConfigItem{key: it})
	}
}

// setQuietly writes key without notifying (a lost notification).
func (s *fakeSource) setQuietly(key, value, version string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items[key] = gamemesh.ConfigItem{Value: value, Version: version}
}

// killSubs makes every current subscription stop delivering, silently.
func (s *fakeSource) killSubs() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sub := range s.subs {
		sub.dead = true
	}
}

// liveSubs counts subscriptions that still deliver.
func (s *fakeSource) liveSubs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, sub := range s.subs {
		if !sub.dead && sub.ctx.Err() == nil {
			n++
		}
	}
	return n
}

func (s *fakeSource) setErrs(getErr, subErr error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.getErr, s.subErr = getErr, subErr
}

func (s *fakeSource) snapshot() map[string]gamemesh.ConfigItem {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.items)
}

var errDown = gamemesh.Errorf(gamemesh.CodeUnavailable, "configuration store down")

// started returns running Flags over src with a fresh metrics registry; Stop
// runs at cleanup.
func started(t *testing.T, src gamemesh.ConfigSource, cfg feature.Config) (*feature.Flags, *prometheus.Registry, *logBuffer) {
	t.Helper()
	f, reg, logs := newFlags(t, src, cfg)
	if err := f.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return f, reg, logs
}

func newFlags(t *testing.T, src gamemesh.ConfigSource, cfg feature.Config) (*feature.Flags, *prometheus.Registry, *logBuffer) {
	t.Helper()
	log, logs := newLogger()
	reg := prometheus.NewRegistry()
	f, err := feature.New(cfg, feature.Deps{Source: src, Logger: log, Metrics: reg})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := f.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return f, reg, logs
}

// metric returns the value of the gauge or counter name whose labels include
// the given name/value pairs; it fails the test when there is none.
func metric(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue next
				}
			}
			switch {
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no metric %s%v", name, labels)
	return 0
}

func key(t *testing.T, system string) string {
	t.Helper()
	k, err := feature.SwitchKey(system)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func settingKey(t *testing.T, name string) string {
	t.Helper()
	k, err := feature.SettingKey(name)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
