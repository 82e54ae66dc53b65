package luavm

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestDirWatcherPatchesOnChange(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "ach", "main.lua"), v1)
	writeFile(t, filepath.Join(root, "ach", "main_test.lua"), `function test_x() end`)
	p := startPool(t, Options{Canary: CanaryPolicy{Disabled: true}})
	w, err := NewDirWatcher(p, root, DirWatcherOptions{Debounce: 20 * time.Millisecond, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	if got, gen := callV(t, p, "ach"); got != "v1" || gen.By != "fswatch" {
		t.Fatalf("initial load: %q %v", got, gen)
	}

	writeFile(t, filepath.Join(root, "ach", "main.lua"), v2)
	waitFor(t, "the change to be patched in", func() bool { a, _ := p.Active("ach"); return a.Number == 2 })
	if got, _ := callV(t, p, "ach"); got != "v2" {
		t.Fatalf("after change: %q", got)
	}

	// A change that does not compile is refused; v2 keeps serving.
	writeFile(t, filepath.Join(root, "ach", "main.lua"), `function on_event( return`)
	time.Sleep(150 * time.Millisecond)
	if a, _ := p.Active("ach"); a.Number != 2 {
		t.Fatalf("a broken file was patched in: %v", a)
	}
	if got, _ := callV(t, p, "ach"); got != "v2" {
		t.Fatalf("after a broken change: %q", got)
	}

	// A new module folder is picked up.
	writeFile(t, filepath.Join(root, "newmod", "a.lua"), `function f() return "new" end`)
	waitFor(t, "the new module", func() bool { _, ok := p.Active("newmod"); return ok })

	if _, err := NewDirWatcher(p, filepath.Join(root, "missing"), DirWatcherOptions{}); err == nil {
		t.Error("watching a missing folder")
	}
}
