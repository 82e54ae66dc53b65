//go:build integration

package integration

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/dapr"
	"github.com/gamemesh/gamemesh/meshtest"
)

// TestStoreConformance runs the Store suite against dapr.Store over the
// project's statestore component (state.redis, keyPrefix appid).
func TestStoreConformance(t *testing.T) {
	r := StartRedis(t)
	sc := StartSidecar(t, r, SidecarOptions{AppID: "mail"})
	store := dapr.NewStore(sc.Client(t), "statestore")
	meshtest.TestStore(t, func(*testing.T) gamemesh.Store { return store })
}

// TestStoreKeyPrefixes checks the ownership rule the components encode: owned
// keys carry the app id, shared markers the component name.
func TestStoreKeyPrefixes(t *testing.T) {
	r := StartRedis(t)
	mail := StartSidecar(t, r, SidecarOptions{AppID: "mail"})
	gate := StartSidecar(t, r, SidecarOptions{AppID: "gate", Config: "gate.yaml"})
	login := StartSidecar(t, r, SidecarOptions{AppID: "login"})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	owned := dapr.NewStore(mail.Client(t), "statestore")
	if err := owned.Set(ctx, "mailbox:p1", []byte("m"), gamemesh.SetOptions{}); err != nil {
		t.Fatal(err)
	}
	if v, err := r.Do("EXISTS", "mail||mailbox:p1"); err != nil || v != "1" {
		t.Fatalf("owned key not stored under the app id prefix: EXISTS = %q, %v", v, err)
	}
	// Another app's statestore cannot see mail's key.
	other := dapr.NewStore(login.Client(t), "statestore")
	if _, err := other.Get(ctx, "mailbox:p1"); !errors.Is(err, gamemesh.ErrNotFound) {
		t.Fatalf("login read mail's key: err = %v, want NOT_FOUND", err)
	}

	// Shared markers: written by the gate, seen by login (and any gate replica).
	gateShared := dapr.NewStore(gate.Client(t), "sharedstate")
	if err := gateShared.Set(ctx, "ticket:abc", []byte{1}, gamemesh.SetOptions{TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if v, err := r.Do("EXISTS", "sharedstate||ticket:abc"); err != nil || v != "1" {
		t.Fatalf("shared key not stored under the component name: EXISTS = %q, %v", v, err)
	}
	loginShared := dapr.NewStore(login.Client(t), "sharedstate")
	err := loginShared.Set(ctx, "ticket:abc", []byte{1}, gamemesh.SetOptions{TTL: time.Minute})
	if !errors.Is(err, gamemesh.ErrConflict) {
		t.Fatalf("second use of a shared marker from another app: err = %v, want CONFLICT", err)
	}
	// The gate's sidecar has no statestore (scopes): owned data is out of its reach.
	if _, err := dapr.NewStore(gate.Client(t), "statestore").Get(ctx, "x"); err == nil || !strings.Contains(err.Error(), "not found") && gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
		t.Fatalf("gate reached the statestore: err = %v", err)
	}
}

// TestStoreOutageIsNotConflict: with an ETag, state.redis reports any Redis
// error as an ETag mismatch (gRPC Aborted). The adapter must answer
// UNAVAILABLE for a refused write whose guard still holds, never CONFLICT
// ("already claimed"), and UNAVAILABLE or DEADLINE_EXCEEDED while Redis is down.
func TestStoreOutageIsNotConflict(t *testing.T) {
	r := StartRedis(t)
	sc := StartSidecar(t, r, SidecarOptions{AppID: "mail"})
	store := dapr.NewStore(sc.Client(t), "statestore")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := store.Set(ctx, "claim:1", []byte("v1"), gamemesh.SetOptions{}); err != nil {
		t.Fatal(err)
	}
	it, err := store.Get(ctx, "claim:1")
	if err != nil {
		t.Fatal(err)
	}

	// Redis refuses every write (out of memory) but still answers reads.
	if _, err := r.Do("CONFIG", "SET", "maxmemory", "1"); err != nil {
		t.Fatal(err)
	}
	err = store.Set(ctx, "claim:1", []byte("v2"), gamemesh.SetOptions{ETag: it.ETag})
	if code := gamemesh.CodeOf(err); code != gamemesh.CodeUnavailable {
		t.Errorf("ETag write refused by Redis: CodeOf = %v (err %v), want UNAVAILABLE", code, err)
	}
	err = store.Set(ctx, "claim:2", []byte("x"), gamemesh.SetOptions{})
	if code := gamemesh.CodeOf(err); code != gamemesh.CodeUnavailable {
		t.Errorf("create-only write refused by Redis: CodeOf = %v (err %v), want UNAVAILABLE", code, err)
	}
	err = store.Set(ctx, "claim:1", []byte("x"), gamemesh.SetOptions{})
	if code := gamemesh.CodeOf(err); code != gamemesh.CodeConflict {
		t.Errorf("create-only write of an existing key while Redis refuses writes: CodeOf = %v (err %v), want CONFLICT", code, err)
	}
	if _, err := r.Do("CONFIG", "SET", "maxmemory", "0"); err != nil {
		t.Fatal(err)
	}

	// Redis is down: callers with a short deadline get an answer in time.
	r.Stop()
	for name, op := range map[string]func(context.Context) error{
		"create-only": func(ctx context.Context) error {
			return store.Set(ctx, "claim:2", []byte("x"), gamemesh.SetOptions{})
		},
		"etag": func(ctx context.Context) error {
			return store.Set(ctx, "claim:1", []byte("v2"), gamemesh.SetOptions{ETag: it.ETag})
		},
		"delete-etag": func(ctx context.Context) error { return store.Delete(ctx, "claim:1", it.ETag) },
		"get": func(ctx context.Context) error {
			_, err := store.Get(ctx, "claim:1")
			return err
		},
	} {
		octx, ocancel := context.WithTimeout(ctx, 500*time.Millisecond)
		began := time.Now()
		err := op(octx)
		ocancel()
		t.Logf("%s while Redis is down: %v after %v", name, err, time.Since(began).Round(time.Millisecond))
		if code := gamemesh.CodeOf(err); code != gamemesh.CodeUnavailable && code != gamemesh.CodeDeadlineExceeded {
			t.Errorf("%s while Redis is down: CodeOf = %v (err %v), want UNAVAILABLE or DEADLINE_EXCEEDED", name, code, err)
		}
	}
	r.Start()
	// Back: the value is intact and the ETag still guards it.
	if !waitUntil(20*time.Second, func() bool {
		cur, err := store.Get(ctx, "claim:1")
		return err == nil && string(cur.Value) == "v1" && cur.ETag == it.ETag
	}) {
		cur, err := store.Get(ctx, "claim:1")
		t.Fatalf("after Redis came back: Get = %+v, %v; want v1 with ETag %s", cur, err, it.ETag)
	}
	if err := store.Set(ctx, "claim:1", []byte("v2"), gamemesh.SetOptions{ETag: it.ETag}); err != nil {
		t.Fatalf("ETag write after the outage: %v", err)
	}
}
