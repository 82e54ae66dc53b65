package embedded

import (
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	"github.com/gamemesh/gamemesh/meshtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// openTestDB opens a DB in a fresh directory and closes it at the end of the test.
func openTestDB(t testing.TB, path string) *DB {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "mesh.db")
	}
	db, err := Open(path, Options{Logger: testLogger(t), SweepInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// testLogger discards logs unless the tests run with -v.
func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func TestMeshStore(t *testing.T) {
	t.Parallel()
	meshtest.TestStore(t, func(t *testing.T) gamemesh.Store { return openTestDB(t, "").Store() })
}

func TestMeshPubSub(t *testing.T) {
	meshtest.TestPubSub(t, func(t *testing.T, subs []gamemesh.Subscription) gamemesh.Publisher {
		db := openTestDB(t, "")
		for _, s := range subs {
			if err := db.Subscribe(t.Context(), s); err != nil {
				t.Fatalf("Subscribe %s/%s: %v", s.Topic, s.Group, err)
			}
		}
		return db.Publisher()
	})
}

func TestMeshInvoker(t *testing.T) {
	meshtest.TestInvoker(t, func(t *testing.T, reg *functions.Registry) gamemesh.Invoker {
		return NewInvoker(reg, testLogger(t))
	})
}

func TestMeshConfig(t *testing.T) {
	t.Parallel()
	meshtest.TestConfig(t, func(t *testing.T) (gamemesh.ConfigSource, func(key, value, version string) error) {
		path := filepath.Join(t.TempDir(), "config.json")
		fc, err := OpenFileConfig(path, testLogger(t))
		if err != nil {
			t.Fatalf("OpenFileConfig: %v", err)
		}
		t.Cleanup(func() { _ = fc.Close() })
		return fc, func(key, value, version string) error { return writeKey(path, key, value, version) }
	})
}

// writeKey sets one key of the config file at path behind the FileConfig's back.
func writeKey(path, key, value, version string) error {
	items, err := readConfigFile(path)
	if err != nil {
		return err
	}
	items[key] = gamemesh.ConfigItem{Value: value, Version: version}
	return writeConfigFile(path, items)
}
