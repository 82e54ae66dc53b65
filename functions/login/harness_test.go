package login_test

// In-test wiring: a map Store with the gamemesh.Store ETag semantics, a Store
// wrapper that fails on demand, an Invoker over functions.Registry.Call and a
// Publisher that records events and delivers them synchronously to the
// registry's subscriptions. Replace with the embedded adapters once they exist.

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef-test-only")

type memEntry struct {
	val  []byte
	etag string
	exp  time.Time
}

// memStore is a Store in a map: create-only on empty ETag, compare-and-set
// otherwise, TTL against its clock.
type memStore struct {
	mu   sync.Mutex
	data map[string]memEntry
	seq  int64
	now  func() time.Time
}

func newMemStore(now func() time.Time) *memStore {
	return &memStore{data: make(map[string]memEntry), now: now}
}

func (s *memStore) live(key string) (memEntry, bool) {
	e, ok := s.data[key]
	if ok && !e.exp.IsZero() && !s.now().Before(e.exp) {
		delete(s.data, key)
		return memEntry{}, false
	}
	return e, ok
}

func (s *memStore) Get(ctx context.Context, key string) (gamemesh.Item, error) {
	if err := ctx.Err(); err != nil {
		return gamemesh.Item{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.live(key)
	if !ok {
		return gamemesh.Item{}, gamemesh.Errorf(gamemesh.CodeNotFound, "no key %s", key)
	}
	return gamemesh.Item{Value: append([]byte(nil), e.val...), ETag: e.etag}, nil
}

func (s *memStore) Set(ctx context.Context, key string, value []byte, opts gamemesh.SetOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.live(key)
	switch {
	case opts.Unconditional:
	case opts.ETag == "" && ok:
		return gamemesh.Errorf(gamemesh.CodeConflict, "key %s exists", key)
	case opts.ETag != "" && (!ok || e.etag != opts.ETag):
		return gamemesh.Errorf(gamemesh.CodeConflict, "etag mismatch on %s", key)
	}
	s.seq++
	ne := memEntry{val: append([]byte(nil), value...), etag: strconv.FormatInt(s.seq, 10)}
	if opts.TTL > 0 {
		ne.exp = s.now().Add(opts.TTL)
	}
	s.data[key] = ne
	return nil
}

func (s *memStore) Delete(ctx context.Context, key string, etag string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.live(key)
	if !ok {
		return nil
	}
	if etag != "" && e.etag != etag {
		return gamemesh.Errorf(gamemesh.CodeConflict, "etag mismatch on %s", key)
	}
	delete(s.data, key)
	return nil
}

// snapshot returns every key with its value, to check that nothing changed.
func (s *memStore) snapshot() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.data))
	for k, e := range s.data {
		out[k] = string(e.val)
	}
	return out
}

// faultyStore wraps a Store: while down every call is UNAVAILABLE; the next
// lostAcks writes are applied but answered UNAVAILABLE (a lost response).
type faultyStore struct {
	gamemesh.Store
	down     atomic.Bool
	lostAcks atomic.Int32
}

var errDown = gamemesh.Errorf(gamemesh.CodeUnavailable, "store down (test)")

func (f *faultyStore) Get(ctx context.Context, key string) (gamemesh.Item, error) {
	if f.down.Load() {
		return gamemesh.Item{}, errDown
	}
	return f.Store.Get(ctx, key)
}

func (f *faultyStore) Set(ctx context.Context, key string, value []byte, opts gamemesh.SetOptions) error {
	if f.down.Load() {
		return errDown
	}
	err := f.Store.Set(ctx, key, value, opts)
	if err == nil && f.lostAcks.Add(-1) >= 0 {
		return errDown
	}
	return err
}

func (f *faultyStore) Delete(ctx context.Context, key string, etag string) error {
	if f.down.Load() {
		return errDown
	}
	return f.Store.Delete(ctx, key, etag)
}

// regInvoker calls straight into a registry, with its checks.
type regInvoker struct{ reg *functions.Registry }

func (i regInvoker) Invoke(ctx context.Context, req gamemesh.Request) ([]byte, error) {
	return i.reg.Call(ctx, req)
}

// bus records published events and, when reg is set, delivers each one
// synchronously to the registry's subscriptions on its topic.
type bus struct {
	reg    *functions.Registry
	mu     sync.Mutex
	events []gamemesh.Event
	errs   []error
}

func (b *bus) Publish(ctx context.Context, topic string, ev gamemesh.Event) error {
	ev.Topic, ev.Attempt = topic, 1
	b.mu.Lock()
	b.events = append(b.events, ev)
	b.mu.Unlock()
	if b.reg == nil {
		return nil
	}
	for _, s := range b.reg.Subscriptions() {
		if s.Topic == topic {
			if err := s.Handler(ctx, ev); err != nil {
				b.mu.Lock()
				b.errs = append(b.errs, err)
				b.mu.Unlock()
			}
		}
	}
	return nil
}

func (b *bus) published() []gamemesh.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]gamemesh.Event(nil), b.events...)
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// callAs runs app.method through the registry as player (empty: a service)
// with request id id (empty: a fresh one).
func callAs(ctx context.Context, reg *functions.Registry, player gamemesh.PlayerID, id, app, method string, in, out proto.Message) error {
	body, err := proto.Marshal(in)
	if err != nil {
		return err
	}
	if id == "" {
		id = gamemesh.NewID()
	}
	resp, err := reg.Call(ctx, gamemesh.Request{App: app, Method: method, Player: player, ID: id, Body: body})
	if err != nil {
		return err
	}
	return proto.Unmarshal(resp, out)
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func wantCode(t *testing.T, err error, want gamemesh.Code) {
	t.Helper()
	if got := gamemesh.CodeOf(err); got != want {
		t.Fatalf("code = %v (err %v), want %v", got, err, want)
	}
	var e *gamemesh.Error
	if want != gamemesh.CodeOK && (!errors.As(err, &e) || e.Message == "") {
		t.Fatalf("error %v has no client message", err)
	}
}

func wantSame(t *testing.T, before, after map[string]string) {
	t.Helper()
	if len(before) != len(after) {
		t.Fatalf("store changed: %d keys before, %d after", len(before), len(after))
	}
	for k, v := range before {
		if after[k] != v {
			t.Fatalf("store changed at %s", k)
		}
	}
}
