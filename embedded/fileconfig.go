package embedded

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/gamemesh/gamemesh"
)

// ConfigRereadInterval is how often a FileConfig re-reads its file even when
// no change was notified (a safety net for missed file events).
const ConfigRereadInterval = 2 * time.Second

// versionSep separates value and version in the file, as in Redis.
const versionSep = "||"

// FileConfig is a gamemesh.ConfigSource over a JSON file of
// {"key": "value||version", ...}; a value without "||" has version "0". A
// missing file is an empty configuration.
//
// The file's directory is watched (editors and Set replace the file by
// rename), and the file is also re-read every ConfigRereadInterval. A
// malformed file is logged and ignored: the last good values stay in force
// until the file is fixed.
type FileConfig struct {
	path string
	log  *slog.Logger

	watcher *fsnotify.Watcher
	stop    chan struct{}
	wg      sync.WaitGroup // watch loop and subscription goroutines

	setMu    sync.Mutex // serializes Set
	reloadMu sync.Mutex // serializes reload

	mu      sync.Mutex
	items   map[string]gamemesh.ConfigItem
	subs    map[*configSub]struct{}
	closed  bool
	lastBad string // content of the last malformed file logged, to log it once
}

// OpenFileConfig reads the file at path (creating its directory if needed)
// and starts watching it. A file that exists but is malformed at open is an
// error. A nil logger discards logs. Close stops the watcher.
func OpenFileConfig(path string, logger *slog.Logger) (*FileConfig, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return nil, fmt.Errorf("config directory of %s: %w", abs, err)
	}
	items, err := readConfigFile(abs)
	if err != nil {
		return nil, err
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watching %s: %w", abs, err)
	}
	if err := w.Add(filepath.Dir(abs)); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("watching %s: %w", filepath.Dir(abs), err)
	}
	fc := &FileConfig{
		path:    abs,
		log:     logger.With("component", "embedded.config", "path", abs),
		watcher: w,
		stop:    make(chan struct{}),
		items:   items,
		subs:    make(map[*configSub]struct{}),
	}
	fc.wg.Go(fc.watch)
	return fc, nil
}

// Get implements gamemesh.ConfigSource. Empty keys returns every item.
func (fc *FileConfig) Get(ctx context.Context, keys []string) (map[string]gamemesh.ConfigItem, error) {
	if err := ctx.Err(); err != nil {
		return nil, gamemesh.Wrap(gamemesh.CodeOf(err), err, gamemesh.MessageOf(err))
	}
	fc.mu.Lock()
	defer fc.mu.Unlock()
	if fc.closed {
		return nil, errConfigClosed
	}
	if len(keys) == 0 {
		return maps.Clone(fc.items), nil
	}
	out := make(map[string]gamemesh.ConfigItem, len(keys))
	for _, k := range keys {
		if it, ok := fc.items[k]; ok {
			out[k] = it
		}
	}
	return out, nil
}

// Set writes key = value to the file, atomically (temporary file and rename),
// with version = the key's previous version + 1 ("1" for a new key or a
// version that is not a number), and returns the new version. Values may not
// contain "||". Set refuses to rewrite a malformed file.
func (fc *FileConfig) Set(key, value string) (version string, err error) {
	if key == "" {
		return "", gamemesh.Errorf(gamemesh.CodeInvalidArgument, "config key is empty")
	}
	if strings.Contains(value, versionSep) {
		return "", gamemesh.Errorf(gamemesh.CodeInvalidArgument, "config value may not contain %q", versionSep)
	}
	fc.setMu.Lock()
	defer fc.setMu.Unlock()
	fc.mu.Lock()
	closed := fc.closed
	fc.mu.Unlock()
	if closed {
		return "", errConfigClosed
	}
	items, err := readConfigFile(fc.path)
	if err != nil {
		return "", err
	}
	prev, _ := strconv.ParseUint(items[key].Version, 10, 64)
	version = strconv.FormatUint(prev+1, 10)
	items[key] = gamemesh.ConfigItem{Value: value, Version: version}
	if err := writeConfigFile(fc.path, items); err != nil {
		return "", err
	}
	fc.reload() // Get sees the new value when Set returns
	return version, nil
}

// Close stops the watcher and every subscription goroutine.
func (fc *FileConfig) Close() error {
	fc.mu.Lock()
	if fc.closed {
		fc.mu.Unlock()
		return nil
	}
	fc.closed = true
	fc.mu.Unlock()
	close(fc.stop)
	err := fc.watcher.Close()
	fc.wg.Wait()
	if err != nil {
		return fmt.Errorf("closing watcher of %s: %w", fc.path, err)
	}
	return nil
}

var _ gamemesh.ConfigSource = (*FileConfig)(nil)

var errConfigClosed = gamemesh.Errorf(gamemesh.CodeUnavailable, "config source is closed")

// readConfigFile parses the file at path; a missing file is empty.
func readConfigFile(path string) (map[string]gamemesh.ConfigItem, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]gamemesh.ConfigItem{}, nil
	}
	if err != nil {
		return nil, gamemesh.Wrap(gamemesh.CodeUnavailable, err, "config file unreadable")
	}
	return parseConfig(data)
}

func parseConfig(data []byte) (map[string]gamemesh.ConfigItem, error) {
	var raw map[string]string
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, gamemesh.Wrap(gamemesh.CodeUnavailable, err, `config file is malformed: want a JSON object of "key": "value||version" strings`)
	}
	items := make(map[string]gamemesh.ConfigItem, len(raw))
	for k, v := range raw {
		value, version := v, "0"
		if i := strings.LastIndex(v, versionSep); i >= 0 {
			value, version = v[:i], v[i+len(versionSep):]
		}
		items[k] = gamemesh.ConfigItem{Value: value, Version: version}
	}
	return items, nil
}

// writeConfigFile replaces the file at path with items, atomically.
func writeConfigFile(path string, items map[string]gamemesh.ConfigItem) error {
	raw := make(map[string]string, len(items))
	for k, it := range items {
		raw[k] = it.Value + versionSep + it.Version
	}
	data, err := json.MarshalIndent(raw, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding config: %w", err)
	}
	data = append(data, '\n')
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return gamemesh.Wrap(gamemesh.CodeUnavailable, err, "config file not writable")
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return gamemesh.Wrap(gamemesh.CodeUnavailable, err, "config file not writable")
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return gamemesh.Wrap(gamemesh.CodeUnavailable, err, "config file not writable")
	}
	if err := tmp.Close(); err != nil {
		return gamemesh.Wrap(gamemesh.CodeUnavailable, err, "config file not writable")
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return gamemesh.Wrap(gamemesh.CodeUnavailable, err, "config file not writable")
	}
	if dir, err := os.Open(filepath.Dir(path)); err == nil { // make the rename durable
		_ = dir.Sync()
		_ = dir.Close()
	}
	return nil
}
