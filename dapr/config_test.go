package dapr

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	commonv1pb "github.com/dapr/dapr/pkg/proto/common/v1"
	runtimev1pb "github.com/dapr/dapr/pkg/proto/runtime/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gamemesh/gamemesh"
)

// configBackend is the fake sidecar's configuration store.
type configBackend struct {
	mu    sync.Mutex
	items map[string]string // key -> value

	version map[string]string
	down    bool
	notify  chan map[string]*commonv1pb.ConfigurationItem
}

func newConfigBackend() *configBackend {
	return &configBackend{
		items: map[string]string{}, version: map[string]string{},
		notify: make(chan map[string]*commonv1pb.ConfigurationItem, 8),
	}
}

func (b *configBackend) set(key, value, version string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if value == "" {
		delete(b.items, key)
		return
	}
	b.items[key], b.version[key] = value, version
}

func (b *configBackend) setDown(down bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.down = down
}

func (b *configBackend) install(f *fakeDaprd, ends chan struct{}) {
	f.getConfig = func(in *runtimev1pb.GetConfigurationRequest) (*runtimev1pb.GetConfigurationResponse, error) {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.down {
			return nil, status.Error(codes.Internal, "redis down")
		}
		out := &runtimev1pb.GetConfigurationResponse{Items: map[string]*commonv1pb.ConfigurationItem{}}
		for _, k := range in.GetKeys() {
			if v, ok := b.items[k]; ok {
				out.Items[k] = &commonv1pb.ConfigurationItem{Value: v, Version: b.version[k]}
			}
		}
		return out, nil
	}
	f.subConfig = func(_ *runtimev1pb.SubscribeConfigurationRequest, s runtimev1pb.Dapr_SubscribeConfigurationServer) error {
		if err := s.Send(&runtimev1pb.SubscribeConfigurationResponse{Id: "sub"}); err != nil {
			return err
		}
		for {
			select {
			case items := <-b.notify:
				if err := s.Send(&runtimev1pb.SubscribeConfigurationResponse{Id: "sub", Items: items}); err != nil {
					return err
				}
			case <-ends:
				return status.Error(codes.Unavailable, "sidecar restarting")
			case <-s.Context().Done():
				return nil
			}
		}
	}
}

type received struct {
	mu    sync.Mutex
	calls []map[string]gamemesh.ConfigItem
}

func (r *received) fn(items map[string]gamemesh.ConfigItem) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, items)
}

func (r *received) last(key string) (gamemesh.ConfigItem, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.calls) - 1; i >= 0; i-- {
		if it, ok := r.calls[i][key]; ok {
			return it, true
		}
	}
	return gamemesh.ConfigItem{}, false
}

func (r *received) n() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestConfigSubscriptionSurvivesStreamEnd(t *testing.T) {
	b := newConfigBackend()
	ends := make(chan struct{}, 1)
	f := &fakeDaprd{}
	b.install(f, ends)
	cs := NewConfigSource(startFake(t, f), "configstore", ConfigOptions{
		Reconcile: time.Hour, MinBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, Logger: discardLogger(),
	})
	defer cs.Close()
	b.set("guild", "on", "1")
	var got received
	if err := cs.Subscribe(t.Context(), []string{"guild", "mail"}, got.fn); err != nil {
		t.Fatal(err)
	}

	// A notification through the stream.
	b.set("guild", "off", "2")
	b.notify <- map[string]*commonv1pb.ConfigurationItem{"guild": {Value: "off", Version: "2"}, "other": {Value: "x"}}
	eventually(t, "notification", func() bool { it, _ := got.last("guild"); return it == gamemesh.ConfigItem{Value: "off", Version: "2"} })
	if _, ok := got.last("other"); ok {
		t.Fatal("delivered a key that is not subscribed")
	}

	// The stream ends silently (go-sdk #690); a change made meanwhile is not notified.
	ends <- struct{}{}
	b.set("mail", "on", "7")
	eventually(t, "resubscribe and re-read", func() bool { it, _ := got.last("mail"); return it.Value == "on" })
	f.mu.Lock()
	subs := f.subscribes
	f.mu.Unlock()
	if subs < 2 {
		t.Fatalf("subscribed %d times, want a resubscription", subs)
	}

	// A deletion notified through the new stream is delivered once, empty.
	b.set("guild", "", "")
	b.notify <- map[string]*commonv1pb.ConfigurationItem{"guild": {}}
	eventually(t, "deletion", func() bool { it, ok := got.last("guild"); return ok && it == gamemesh.ConfigItem{} })
}

func TestConfigReconcileKeepsLastKnownGood(t *testing.T) {
	b := newConfigBackend()
	f := &fakeDaprd{}
	b.install(f, make(chan struct{}))
	cs := NewConfigSource(startFake(t, f), "configstore", ConfigOptions{Reconcile: 10 * time.Millisecond, Logger: discardLogger()})
	defer cs.Close()
	b.set("switch", "on", "1")
	var got received
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if err := cs.Subscribe(ctx, []string{"switch"}, got.fn); err != nil {
		t.Fatal(err)
	}
	b.setDown(true)
	time.Sleep(100 * time.Millisecond) // ~10 failed re-reads
	if got.n() != 0 {
		t.Fatalf("delivered %v while the store could not be read; want nothing (keep last known)", got.calls)
	}
	b.set("switch", "off", "2") // missed notification
	b.setDown(false)
	eventually(t, "reconcile", func() bool { it, _ := got.last("switch"); return it.Value == "off" })

	cancel() // the subscription stops with its context
	time.Sleep(50 * time.Millisecond)
	n := got.n()
	b.set("switch", "on", "3")
	time.Sleep(100 * time.Millisecond)
	if got.n() != n {
		t.Fatal("delivered after the subscription's context was cancelled")
	}
}

func TestConfigSubscribeFailsWithoutSidecar(t *testing.T) {
	f := &fakeDaprd{subConfig: func(*runtimev1pb.SubscribeConfigurationRequest, runtimev1pb.Dapr_SubscribeConfigurationServer) error {
		return status.Error(codes.InvalidArgument, "configuration store configstore not found")
	}}
	cs := NewConfigSource(startFake(t, f), "configstore", ConfigOptions{Logger: discardLogger()})
	defer cs.Close()
	err := cs.Subscribe(t.Context(), []string{"k"}, func(map[string]gamemesh.ConfigItem) {})
	if err == nil {
		t.Fatal("Subscribe succeeded without a subscription in place")
	}
	if err := cs.Subscribe(t.Context(), nil, func(map[string]gamemesh.ConfigItem) {}); gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
		t.Fatalf("Subscribe without keys: %v", err)
	}
	if got, err := cs.Get(t.Context(), nil); err != nil || len(got) != 0 {
		t.Fatalf("Get of no keys = %v, %v; want empty (never every key of the store)", got, err)
	}
}

func TestConfigGetMapsErrors(t *testing.T) {
	f := &fakeDaprd{getConfig: func(*runtimev1pb.GetConfigurationRequest) (*runtimev1pb.GetConfigurationResponse, error) {
		return nil, status.Error(codes.Internal, "redis down")
	}}
	cs := NewConfigSource(startFake(t, f), "configstore", ConfigOptions{Logger: discardLogger()})
	defer cs.Close()
	_, err := cs.Get(t.Context(), []string{"k"})
	if !errors.Is(err, gamemesh.ErrUnavailable) {
		t.Fatalf("Get with the store down: %v, want UNAVAILABLE", err)
	}
}
