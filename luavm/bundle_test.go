package luavm

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/gamemesh/gamemesh"
)

func TestBundleChecksAndHash(t *testing.T) {
	a := File{Name: "a.lua", Source: "x = 1"}
	b := File{Name: "b.lua", Source: "y = 2"}
	b1, err := NewBundle("mod", []File{a, b})
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := NewBundle("mod", []File{b, a})
	if b1.Hash() != b2.Hash() || len(b1.Hash()) != 64 {
		t.Errorf("hash depends on order: %s %s", b1.Hash(), b2.Hash())
	}
	b3, _ := NewBundle("mod", []File{a, {Name: "b.lua", Source: "y = 3"}})
	b4, _ := NewBundle("mod", []File{{Name: "a.lua", Source: "x = 1y = 2"}, {Name: "b.lua", Source: ""}})
	if b3.Hash() == b1.Hash() || b4.Hash() == b1.Hash() {
		t.Error("different contents, same hash")
	}
	if fs := b1.Files(); fs[0].Name != "a.lua" || b1.Module() != "mod" {
		t.Errorf("files: %+v", fs)
	}
	bad := map[string]struct {
		module string
		files  []File
		want   string
	}{
		"module name":   {"Bad Name", []File{a}, "module name"},
		"no files":      {"mod", nil, "no .lua file"},
		"test file":     {"mod", []File{{Name: "a_test.lua", Source: ""}}, "is a test"},
		"not lua":       {"mod", []File{{Name: "a.txt", Source: ""}}, "ending in .lua"},
		"path":          {"mod", []File{{Name: "../a.lua", Source: ""}}, "plain name"},
		"duplicate":     {"mod", []File{a, a}, "twice"},
		"too big":       {"mod", []File{{Name: "a.lua", Source: strings.Repeat("-", MaxFileBytes+1)}}, "bytes"},
		"syntax":        {"mod", []File{{Name: "a.lua", Source: "x = = 1"}}, "mod/a.lua"},
		"unclosed":      {"mod", []File{{Name: "a.lua", Source: "function f( end"}}, "does not compile"},
		"too many vars": {"mod", []File{{Name: "a.lua", Source: "local " + strings.Repeat("a,", 300) + "b = 1"}}, "does not compile"},
	}
	for name, c := range bad {
		_, err := NewBundle(c.module, c.files)
		if gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument || !strings.Contains(gamemesh.MessageOf(err), c.want) {
			t.Errorf("%s: %v, want INVALID_ARGUMENT mentioning %q", name, err, c.want)
		}
	}
}

func TestLoadFilesAndDir(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "ach", "a.lua"), "function on_event() end")
	writeFile(t, filepath.Join(root, "ach", "a_test.lua"), "function test_a() end")
	writeFile(t, filepath.Join(root, "other", "b.lua"), "function f() end")
	writeFile(t, filepath.Join(root, "tests_only", "c_test.lua"), "function test_c() end")
	b, err := LoadFiles(filepath.Join(root, "ach", "a.lua"))
	if err != nil || b.Module() != "ach" || len(b.Files()) != 1 {
		t.Fatalf("LoadFiles: %v %v", b, err)
	}
	if _, err := LoadFiles(filepath.Join(root, "ach", "a.lua"), filepath.Join(root, "other", "b.lua")); err == nil {
		t.Error("files of two modules accepted")
	}
	if _, err := LoadFiles(filepath.Join(root, "ach", "missing.lua")); gamemesh.CodeOf(err) != gamemesh.CodeNotFound {
		t.Errorf("missing file: %v", err)
	}
	bundles, err := LoadDir(root)
	if err != nil || len(bundles) != 2 || bundles[0].Module() != "ach" || bundles[1].Module() != "other" {
		t.Fatalf("LoadDir: %v %v", bundles, err)
	}
	if _, err := LoadDir(filepath.Join(root, "nope")); gamemesh.CodeOf(err) != gamemesh.CodeNotFound {
		t.Errorf("missing root: %v", err)
	}
}
