package luavm

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/gamemesh/gamemesh"
)

// DefaultDebounce is how long a DirWatcher waits after the last change of a
// module folder before it patches (editors write files in several steps).
const DefaultDebounce = 200 * time.Millisecond

// DirWatcherOptions configure a DirWatcher.
type DirWatcherOptions struct {
	// Debounce defaults to DefaultDebounce.
	Debounce time.Duration
	// By is recorded as the patches' author (default "fswatch").
	By string
	// Logger receives the watcher's logs; nil discards them.
	Logger *slog.Logger
}

// DirWatcher patches a Pool from a scripts folder during development: every
// module folder under root is loaded at Start, then watched with fsnotify;
// a change is debounced, the module's folder is loaded again, and the bundle
// goes through Pool.Patch (checks and canary). A change that does not compile
// or is refused is logged with the reason; the pool keeps serving what it has.
type DirWatcher struct {
	pool     *Pool
	root     string
	debounce time.Duration
	by       string
	log      *slog.Logger

	watcher *fsnotify.Watcher
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// NewDirWatcher returns a stopped watcher of root.
func NewDirWatcher(pool *Pool, root string, opts DirWatcherOptions) (*DirWatcher, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, gamemesh.Wrap(gamemesh.CodeInvalidArgument, err, "bad scripts folder "+root)
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return nil, gamemesh.Errorf(gamemesh.CodeNotFound, "scripts folder %s is not a folder", root)
	}
	d := opts.Debounce
	if d <= 0 {
		d = DefaultDebounce
	}
	by := opts.By
	if by == "" {
		by = "fswatch"
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &DirWatcher{pool: pool, root: abs, debounce: d, by: by, log: log.With("component", "luavm.watch", "root", abs)}, nil
}

// Start loads every module under root into the pool and starts watching.
// Modules that fail to load are logged and returned as one error; the others
// are loaded and watching starts anyway.
func (w *DirWatcher) Start(ctx context.Context) error {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return gamemesh.Wrap(gamemesh.CodeUnavailable, err, "cannot watch "+w.root)
	}
	if err := fw.Add(w.root); err != nil {
		_ = fw.Close()
		return gamemesh.Wrap(gamemesh.CodeUnavailable, err, "cannot watch "+w.root)
	}
	dirs, err := moduleDirs(w.root)
	if err != nil {
		_ = fw.Close()
		return err
	}
	var errs []error
	for _, d := range dirs {
		if err := fw.Add(d); err != nil {
			errs = append(errs, err)
		}
		if err := w.load(ctx, d); err != nil {
			errs = append(errs, err)
		}
	}
	runCtx, cancel := context.WithCancel(context.Background())
	w.watcher, w.cancel = fw, cancel
	w.wg.Go(func() { w.loop(runCtx) })
	return errors.Join(errs...)
}

// Close stops watching.
func (w *DirWatcher) Close() error {
	if w.cancel == nil {
		return nil
	}
	w.cancel()
	err := w.watcher.Close()
	w.wg.Wait()
	return err
}

func (w *DirWatcher) loop(ctx context.Context) {
	pending := map[string]bool{}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.watcher.Events:
			if !ok {
				return
			}
			dir := w.moduleDir(ev.Name)
			if dir == "" {
				continue
			}
			if ev.Name == dir && ev.Has(fsnotify.Create) {
				_ = w.watcher.Add(dir) // a new module folder
			}
			pending[dir] = true
			timer.Reset(w.debounce)
		case err, ok := <-w.watcher.Errors:
			if !ok {
				return
			}
			w.log.Warn("script watch error", "err", err)
		case <-timer.C:
			for dir := range pending {
				if err := w.load(ctx, dir); err != nil && ctx.Err() == nil {
					w.log.Error("script change refused; the running generation keeps serving", "module", filepath.Base(dir), "err", errText(err))
				}
			}
			clear(pending)
		}
	}
}

// moduleDir returns the module folder (directly under root) path belongs to.
func (w *DirWatcher) moduleDir(path string) string {
	rel, err := filepath.Rel(w.root, path)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return ""
	}
	first := strings.Split(rel, string(filepath.Separator))[0]
	if strings.HasPrefix(first, ".") {
		return ""
	}
	dir := filepath.Join(w.root, first)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return ""
	}
	return dir
}

// load patches the module in dir from disk.
func (w *DirWatcher) load(ctx context.Context, dir string) error {
	b, err := LoadModule(dir)
	if err != nil {
		return err
	}
	if a, ok := w.pool.Active(b.module); ok && a.Hash == b.hash {
		return nil
	}
	gen, err := w.pool.Patch(ctx, b, PatchOptions{By: w.by, Source: "dir:" + dir})
	if err != nil {
		return err
	}
	w.log.Info("script folder patched", "module", b.module, "gen", gen.Number, "hash", short(gen.Hash))
	return nil
}
