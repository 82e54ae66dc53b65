package directory_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/embedded"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

func TestMemoryRegisterReturnsPrevious(t *testing.T) {
	ctx := context.Background()
	m := directory.NewMemory()
	prev, err := m.Register(ctx, "p1", directory.Location{Gate: "g1", Session: "s1"})
	if err != nil || prev != (directory.Location{}) {
		t.Fatalf("first register: prev %v err %v", prev, err)
	}
	prev, _ = m.Register(ctx, "p1", directory.Location{Gate: "g2", Session: "s2"})
	if prev != (directory.Location{Gate: "g1", Session: "s1"}) {
		t.Fatalf("second register: prev %v, want the first location", prev)
	}
	// The older session ending must not unregister the newer one.
	if err := m.Unregister(ctx, "p1", "s1"); err != nil {
		t.Fatal(err)
	}
	if loc, err := m.Locate(ctx, "p1"); err != nil || loc.Session != "s2" {
		t.Fatalf("after the old session left: %v %v", loc, err)
	}
	if err := m.Unregister(ctx, "p1", "s2"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Locate(ctx, "p1"); !errors.Is(err, gamemesh.ErrNotFound) {
		t.Fatalf("offline player: %v, want NOT_FOUND", err)
	}
	if m.Online() != 0 {
		t.Fatalf("online = %d", m.Online())
	}
}

func openStore(t *testing.T) gamemesh.Store {
	t.Helper()
	db, err := embedded.Open(filepath.Join(t.TempDir(), "d.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db.Store()
}

func TestOnceUsesEachIDOnce(t *testing.T) {
	once := directory.Once{Store: openStore(t), Prefix: "used/"}
	ctx := context.Background()
	until := time.Now().Add(time.Minute)
	var ok, conflict atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := once.Use(ctx, "ticket-1", until)
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, gamemesh.ErrConflict):
				conflict.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 1 || conflict.Load() != 49 {
		t.Fatalf("50 concurrent uses: %d succeeded, %d conflicted; want 1 and 49", ok.Load(), conflict.Load())
	}
	if err := once.Use(ctx, "ticket-2", until); err != nil {
		t.Fatalf("another id: %v", err)
	}
}

type failingStore struct{ gamemesh.Store }

func (failingStore) Set(context.Context, string, []byte, gamemesh.SetOptions) error {
	return gamemesh.Errorf(gamemesh.CodeUnavailable, "down")
}

func TestOnceStoreDownIsNotAConflict(t *testing.T) {
	err := directory.Once{Store: failingStore{}}.Use(context.Background(), "x1", time.Now().Add(time.Minute))
	if gamemesh.CodeOf(err) != gamemesh.CodeUnavailable {
		t.Fatalf("store down: %v, want UNAVAILABLE (never a replay verdict)", err)
	}
}

type recPublisher struct {
	mu     sync.Mutex
	topics []string
	events []gamemesh.Event
}

func (p *recPublisher) Publish(_ context.Context, topic string, ev gamemesh.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.topics = append(p.topics, topic)
	p.events = append(p.events, ev)
	return nil
}

func TestPusherRoutesToTheGate(t *testing.T) {
	ctx := context.Background()
	m := directory.NewMemory()
	pub := &recPublisher{}
	p := directory.Pusher{Locator: m, Publisher: pub}
	if err := p.Push(ctx, "poffline", "mail.new", []byte{1}); err != nil {
		t.Fatalf("push to an offline player: %v, want nil (dropped)", err)
	}
	if len(pub.topics) != 0 {
		t.Fatalf("published %v for an offline player", pub.topics)
	}
	if _, err := m.Register(ctx, "ponline", directory.Location{Gate: "gate-7", Session: "s"}); err != nil {
		t.Fatal(err)
	}
	if err := p.Push(ctx, "ponline", "mail.new", []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	if len(pub.topics) != 1 || pub.topics[0] != directory.PushTopic("gate-7") || pub.events[0].ID == "" {
		t.Fatalf("published %v %v", pub.topics, pub.events)
	}
	var env gamev1.PushEnvelope
	if err := proto.Unmarshal(pub.events[0].Data, &env); err != nil {
		t.Fatal(err)
	}
	if env.PlayerId != "ponline" || env.Route != "mail.new" || string(env.Body) != "\x01\x02" {
		t.Fatalf("push envelope %v", &env)
	}
}

// lyingStore applies a write but answers CONFLICT, like a backend whose retry
// of a successful write trips its own ETag check.
type lyingStore struct {
	gamemesh.Store
	lieOnce bool
}

func (l *lyingStore) Set(ctx context.Context, key string, v []byte, opts gamemesh.SetOptions) error {
	err := l.Store.Set(ctx, key, v, opts)
	if err == nil && l.lieOnce {
		l.lieOnce = false
		return gamemesh.Errorf(gamemesh.CodeConflict, "etag mismatch (but the write applied)")
	}
	return err
}

func TestOnceConflictOnOwnWriteIsSuccess(t *testing.T) {
	ctx := context.Background()
	store := &lyingStore{Store: openStore(t), lieOnce: true}
	once := directory.Once{Store: store}
	if err := once.Use(ctx, "t1", time.Now().Add(time.Minute)); err != nil {
		t.Fatalf("our own write reported as a conflict must count as used by us: %v", err)
	}
	if err := once.Use(ctx, "t1", time.Now().Add(time.Minute)); !errors.Is(err, gamemesh.ErrConflict) {
		t.Fatalf("second use: %v, want CONFLICT", err)
	}
}

func TestSharedDirectory(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	a, b := directory.Shared{Store: store, Prefix: "online/"}, directory.Shared{Store: store, Prefix: "online/"}
	if _, err := a.Locate(ctx, "p1"); !errors.Is(err, gamemesh.ErrNotFound) {
		t.Fatalf("offline: %v", err)
	}
	if prev, err := a.Register(ctx, "p1", directory.Location{Gate: "g1", Session: "s1"}); err != nil || prev != (directory.Location{}) {
		t.Fatalf("register: %v %v", prev, err)
	}
	// Another process sharing the store sees the player, and a newer session.
	if loc, err := b.Locate(ctx, "p1"); err != nil || loc.Gate != "g1" {
		t.Fatalf("seen from another process: %v %v", loc, err)
	}
	if prev, err := b.Register(ctx, "p1", directory.Location{Gate: "g2", Session: "s2"}); err != nil || prev.Session != "s1" {
		t.Fatalf("second register: prev %v %v", prev, err)
	}
	if err := a.Unregister(ctx, "p1", "s1"); err != nil {
		t.Fatal(err)
	}
	if loc, _ := a.Locate(ctx, "p1"); loc.Session != "s2" {
		t.Fatalf("the old session's end removed the new one: %v", loc)
	}
	if err := b.Unregister(ctx, "p1", "s2"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Locate(ctx, "p1"); !errors.Is(err, gamemesh.ErrNotFound) {
		t.Fatalf("after logout: %v", err)
	}
}
