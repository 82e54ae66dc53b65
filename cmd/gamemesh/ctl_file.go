package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/embedded"
	"github.com/gamemesh/gamemesh/internal/system"
)

// ctlStore is the configuration store that ctl reads and writes.
type ctlStore interface {
	// Get returns the items present among keys.
	Get(ctx context.Context, keys []string) (map[string]gamemesh.ConfigItem, error)
	// Prefixed returns every item whose key starts with prefix.
	Prefixed(ctx context.Context, prefix string) (map[string]gamemesh.ConfigItem, error)
	// Set writes key = value with the key's previous version + 1 and returns
	// the new version; concurrent writers never get the same version.
	Set(ctx context.Context, key, value string) (version string, err error)
	// Close releases the store.
	Close() error
}

// fileStore is the watched config file of a data directory (embedded mode).
// Writers (ctl processes) are serialized by an advisory lock on a file next
// to it, so concurrent writes neither lose an update nor share a version.
type fileStore struct {
	fc   *embedded.FileConfig
	lock string
}

// lockPoll is how often a writer retries a lock held by another writer.
const lockPoll = 5 * time.Millisecond

// openFileStore opens the config file of an existing data directory: a
// mistyped --data would otherwise write where no process is watching.
func openFileStore(dataDir string, log *slog.Logger) (*fileStore, error) {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, fmt.Errorf("data directory %s: %w", dataDir, err)
	}
	info, err := os.Stat(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("data directory %s does not exist: pass the --data of `gamemesh up` (or create it)", abs)
	}
	if err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("data directory %s is not a directory", abs)
	}
	path := system.ConfigPath(abs)
	fc, err := embedded.OpenFileConfig(path, log)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	return &fileStore{fc: fc, lock: system.ConfigLockPath(abs)}, nil
}

func (s *fileStore) Get(ctx context.Context, keys []string) (map[string]gamemesh.ConfigItem, error) {
	if len(keys) == 0 {
		return map[string]gamemesh.ConfigItem{}, nil
	}
	return s.fc.Get(ctx, keys)
}

func (s *fileStore) Prefixed(ctx context.Context, prefix string) (map[string]gamemesh.ConfigItem, error) {
	all, err := s.fc.Get(ctx, nil)
	if err != nil {
		return nil, err
	}
	for k := range all {
		if !strings.HasPrefix(k, prefix) {
			delete(all, k)
		}
	}
	return all, nil
}

func (s *fileStore) Set(ctx context.Context, key, value string) (string, error) {
	unlock, err := system.LockFile(ctx, s.lock, lockPoll)
	if err != nil {
		return "", fmt.Errorf("locking %s: %w", s.lock, err)
	}
	defer unlock()
	return s.fc.Set(key, value)
}

func (s *fileStore) Close() error { return s.fc.Close() }
