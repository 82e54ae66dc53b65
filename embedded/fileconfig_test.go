package embedded

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
)

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func openTestConfig(t *testing.T, path string, log *slog.Logger) *FileConfig {
	t.Helper()
	if log == nil {
		log = testLogger(t)
	}
	fc, err := OpenFileConfig(path, log)
	if err != nil {
		t.Fatalf("OpenFileConfig: %v", err)
	}
	t.Cleanup(func() {
		if err := fc.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return fc
}

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

func getItem(t *testing.T, fc *FileConfig, key string) (gamemesh.ConfigItem, bool) {
	t.Helper()
	items, err := fc.Get(t.Context(), []string{key})
	if err != nil {
		t.Fatal(err)
	}
	it, ok := items[key]
	return it, ok
}

func TestFileConfigMalformedKeepsLastGood(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	replaceFile(t, path, `{"guild": "on||4", "plain": "7"}`)
	var logs syncBuffer
	fc := openTestConfig(t, path, slog.New(slog.NewTextHandler(&logs, nil)))
	if it, _ := getItem(t, fc, "plain"); it != (gamemesh.ConfigItem{Value: "7", Version: "0"}) {
		t.Fatalf("value without a version: %+v, want version 0", it)
	}
	calls := make(chan map[string]gamemesh.ConfigItem, 10)
	if err := fc.Subscribe(t.Context(), nil, func(m map[string]gamemesh.ConfigItem) { calls <- m }); err != nil {
		t.Fatal(err)
	}

	replaceFile(t, path, `{"guild": "off||5",`) // truncated JSON
	fc.reload()                                 // what the watcher does; called here so the check need not wait
	if it, _ := getItem(t, fc, "guild"); it != (gamemesh.ConfigItem{Value: "on", Version: "4"}) {
		t.Fatalf("after a malformed file: %+v, want the last good value", it)
	}
	if !strings.Contains(logs.String(), "malformed") {
		t.Fatalf("malformed file not logged; logs: %s", logs.String())
	}
	if _, err := fc.Set("guild", "off"); gamemesh.CodeOf(err) != gamemesh.CodeUnavailable {
		t.Fatalf("Set over a malformed file: err = %v, want UNAVAILABLE", err)
	}
	if data, _ := os.ReadFile(path); string(data) != `{"guild": "off||5",` {
		t.Fatalf("Set rewrote a malformed file: %s", data)
	}
	select {
	case m := <-calls:
		t.Fatalf("subscriber called for a malformed file: %+v", m)
	default:
	}

	replaceFile(t, path, `{"guild": "off||5"}`) // fixed; "plain" deleted
	var m map[string]gamemesh.ConfigItem
	select { // through the watcher
	case m = <-calls:
	case <-time.After(5 * time.Second):
		t.Fatal("fixed file not reported to the subscriber")
	}
	want := map[string]gamemesh.ConfigItem{"guild": {Value: "off", Version: "5"}, "plain": {}}
	if len(m) != 2 || m["guild"] != want["guild"] || m["plain"] != want["plain"] {
		t.Fatalf("after the fix subscriber got %+v, want %+v", m, want)
	}
}

func TestFileConfigSet(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "config.json") // neither file nor directory exist
	fc := openTestConfig(t, path, nil)
	if items, err := fc.Get(t.Context(), nil); err != nil || len(items) != 0 {
		t.Fatalf("missing file: Get = %+v, %v; want empty", items, err)
	}
	for _, want := range []string{"1", "2"} {
		v, err := fc.Set("guild", "off")
		if err != nil {
			t.Fatal(err)
		}
		if v != want {
			t.Fatalf("Set version = %q, want %q", v, want)
		}
	}
	if it, _ := getItem(t, fc, "guild"); it != (gamemesh.ConfigItem{Value: "off", Version: "2"}) {
		t.Fatalf("Get after Set = %+v", it)
	}
	// The file holds the Redis-style encoding and another reader sees it.
	other, err := readConfigFile(path)
	if err != nil || other["guild"] != (gamemesh.ConfigItem{Value: "off", Version: "2"}) {
		t.Fatalf("file after Set: %+v, %v", other, err)
	}
	if _, err := fc.Set("guild", "a||b"); gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
		t.Fatalf("value with ||: err = %v, want INVALID_ARGUMENT", err)
	}
	if _, err := fc.Set("", "x"); gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
		t.Fatalf("empty key: err = %v, want INVALID_ARGUMENT", err)
	}
	if it, _ := getItem(t, fc, "guild"); it.Version != "2" {
		t.Fatalf("bad Set changed the key: %+v", it)
	}
}

func TestFileConfigOpenMalformedFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	replaceFile(t, path, `["not", "an", "object"]`)
	if _, err := OpenFileConfig(path, nil); err == nil {
		t.Fatal("OpenFileConfig accepted a malformed file")
	}
}

func TestFileConfigClosed(t *testing.T) {
	fc, err := OpenFileConfig(filepath.Join(t.TempDir(), "config.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := fc.Subscribe(context.Background(), nil, func(map[string]gamemesh.ConfigItem) {}); err != nil {
		t.Fatal(err)
	}
	if err := fc.Close(); err != nil { // also stops the subscription goroutine
		t.Fatal(err)
	}
	if _, err := fc.Get(t.Context(), nil); gamemesh.CodeOf(err) != gamemesh.CodeUnavailable {
		t.Fatalf("Get after Close: err = %v, want UNAVAILABLE", err)
	}
	if err := fc.Subscribe(t.Context(), nil, func(map[string]gamemesh.ConfigItem) {}); gamemesh.CodeOf(err) != gamemesh.CodeUnavailable {
		t.Fatalf("Subscribe after Close: err = %v, want UNAVAILABLE", err)
	}
	if _, err := fc.Set("k", "v"); gamemesh.CodeOf(err) != gamemesh.CodeUnavailable {
		t.Fatalf("Set after Close: err = %v, want UNAVAILABLE", err)
	}
}
