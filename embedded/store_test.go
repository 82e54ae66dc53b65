package embedded

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/gamemesh/gamemesh"
)

func TestStoreReopenKeepsState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mesh.db")
	ctx := t.Context()
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := db.Store()
	if err := s.Set(ctx, "player:1", []byte{0, 1, 2}, gamemesh.SetOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "session:1", []byte("s"), gamemesh.SetOptions{TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	before, err := s.Get(ctx, "player:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTestDB(t, path).Store()
	after, err := s.Get(ctx, "player:1")
	if err != nil {
		t.Fatalf("Get after reopen: %v", err)
	}
	if string(after.Value) != string(before.Value) || after.ETag != before.ETag {
		t.Fatalf("after reopen: %+v, want %+v", after, before)
	}
	if _, err := s.Get(ctx, "session:1"); err != nil {
		t.Fatalf("key with a TTL of an hour lost by reopen: %v", err)
	}
	// The ETag still guards writes after a reopen.
	if err := s.Set(ctx, "player:1", []byte("x"), gamemesh.SetOptions{ETag: before.ETag}); err != nil {
		t.Fatalf("Set with the ETag read before reopen: %v", err)
	}
}

func TestStoreETagNeverRepeats(t *testing.T) {
	s, ctx := openTestDB(t, "").Store(), t.Context()
	if err := s.Set(ctx, "k", []byte("a"), gamemesh.SetOptions{}); err != nil {
		t.Fatal(err)
	}
	old, _ := s.Get(ctx, "k")
	if err := s.Delete(ctx, "k", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "k", []byte("b"), gamemesh.SetOptions{}); err != nil {
		t.Fatal(err)
	}
	cur, _ := s.Get(ctx, "k")
	if cur.ETag == old.ETag {
		t.Fatalf("recreated key got the ETag %q of its previous life", cur.ETag)
	}
	if err := s.Set(ctx, "k", []byte("c"), gamemesh.SetOptions{ETag: old.ETag}); !errors.Is(err, gamemesh.ErrConflict) {
		t.Fatalf("Set with the ETag of a deleted incarnation: err = %v, want CONFLICT", err)
	}
}

func TestStoreBadInput(t *testing.T) {
	s, ctx := openTestDB(t, "").Store(), t.Context()
	if err := s.Set(ctx, "k", []byte("v"), gamemesh.SetOptions{}); err != nil {
		t.Fatal(err)
	}
	it, _ := s.Get(ctx, "k")
	cases := map[string]error{
		"empty key Set":          s.Set(ctx, "", []byte("v"), gamemesh.SetOptions{}),
		"long key Set":           s.Set(ctx, strings.Repeat("k", MaxKeyLen+1), []byte("v"), gamemesh.SetOptions{}),
		"empty key Get":          func() error { _, err := s.Get(ctx, ""); return err }(),
		"empty key Delete":       s.Delete(ctx, "", ""),
		"unconditional and etag": s.Set(ctx, "k", []byte("w"), gamemesh.SetOptions{Unconditional: true, ETag: it.ETag}),
	}
	for name, err := range cases {
		if gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
			t.Errorf("%s: err = %v, want INVALID_ARGUMENT", name, err)
		}
	}
	if got, _ := s.Get(ctx, "k"); string(got.Value) != "v" || got.ETag != it.ETag {
		t.Fatalf("bad input changed the key: %+v", got)
	}
}

func TestStoreContextDone(t *testing.T) {
	s := openTestDB(t, "").Store()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Set(ctx, "k", []byte("v"), gamemesh.SetOptions{}); gamemesh.CodeOf(err) != gamemesh.CodeUnavailable {
		t.Fatalf("Set with a cancelled ctx: err = %v, want UNAVAILABLE", err)
	}
	if _, err := s.Get(t.Context(), "k"); !errors.Is(err, gamemesh.ErrNotFound) {
		t.Fatalf("Set with a cancelled ctx wrote the key: %v", err)
	}
}

func TestSweeperDeletesExpiredKeys(t *testing.T) {
	db := openTestDB(t, "") // sweeps every 50ms
	s, ctx := db.Store(), t.Context()
	if err := s.Set(ctx, "short", []byte("v"), gamemesh.SetOptions{TTL: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "rewritten", []byte("v"), gamemesh.SetOptions{TTL: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "rewritten", []byte("w"), gamemesh.SetOptions{Unconditional: true}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for rawKeys(t, db, bucketKVTTL) != 0 || rawGet(t, db, "short") {
		if time.Now().After(deadline) {
			t.Fatal("sweeper did not delete the expired key and its index entry")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !rawGet(t, db, "rewritten") {
		t.Fatal("sweeper deleted a key whose TTL was cleared by a later write")
	}
}

func TestClosedDBIsUnavailable(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "mesh.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx, s := t.Context(), db.Store()
	ev := gamemesh.Event{ID: gamemesh.NewID()}
	errs := map[string]error{
		"Get":           func() error { _, err := s.Get(ctx, "k"); return err }(),
		"Set":           s.Set(ctx, "k", []byte("v"), gamemesh.SetOptions{}),
		"Delete":        s.Delete(ctx, "k", ""),
		"Publish":       db.Publisher().Publish(ctx, "t", ev),
		"Subscribe":     db.Subscribe(ctx, gamemesh.Subscription{Topic: "t", Group: "g", Handler: okHandler}),
		"SetAndPublish": db.SetAndPublish(ctx, "k", []byte("v"), gamemesh.SetOptions{}, "t", ev),
	}
	for op, err := range errs {
		if !errors.Is(err, gamemesh.ErrUnavailable) {
			t.Errorf("%s on a closed DB: err = %v, want UNAVAILABLE", op, err)
		}
	}
}

func TestOpenLockedFileFails(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "mesh.db")
	openTestDB(t, path)
	// bbolt's file lock is per open file description, so a second Open in the
	// same process contends like a second process would.
	if _, err := Open(path, Options{}); !errors.Is(err, gamemesh.ErrUnavailable) {
		t.Fatalf("second Open of a locked file: err = %v, want UNAVAILABLE", err)
	}
}

func okHandler(context.Context, gamemesh.Event) error { return nil }

// rawKeys counts the keys of a top-level bucket.
func rawKeys(t *testing.T, db *DB, bucket []byte) int {
	t.Helper()
	n := 0
	if err := db.bolt.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucket).Stats().KeyN
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// rawGet reports whether key is in the kv bucket, expired or not.
func rawGet(t *testing.T, db *DB, key string) bool {
	t.Helper()
	found := false
	if err := db.bolt.View(func(tx *bolt.Tx) error {
		found = tx.Bucket(bucketKV).Get([]byte(key)) != nil
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return found
}
