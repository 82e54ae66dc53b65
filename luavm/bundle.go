package luavm

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"

	"github.com/gamemesh/gamemesh"
)

// Bundle limits.
const (
	MaxBundleFiles = 64
	MaxFileBytes   = 1 << 20
	MaxBundleBytes = 4 << 20
)

// File is one script of a bundle.
type File struct {
	Name   string `json:"name"` // base name, e.g. "rules.lua"
	Source string `json:"source"`
}

// Bundle is one module's scripts, compiled once (lua.Parse + lua.Compile) into
// function prototypes that every VM shares. It is immutable. Its Hash is the
// sha256 over the sorted file names and contents.
type Bundle struct {
	module string
	files  []File
	hash   string
	protos []*lua.FunctionProto
}

// Module returns the bundle's module name.
func (b *Bundle) Module() string { return b.module }

// Hash returns the content hash (hex sha256).
func (b *Bundle) Hash() string { return b.hash }

// Files returns a copy of the bundle's files, sorted by name.
func (b *Bundle) Files() []File { return append([]File(nil), b.files...) }

// NewBundle checks and compiles module's files. The module name is 2 to 64
// characters of [a-z0-9_-]; file names end in .lua, are not tests
// (*_test.lua) and have no path; sizes are capped (MaxBundleFiles,
// MaxFileBytes, MaxBundleBytes). A file that does not compile makes the
// error, with the file, line and reason: INVALID_ARGUMENT.
func NewBundle(module string, files []File) (*Bundle, error) {
	if !gamemesh.ValidKeyPart(module) {
		return nil, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "script module name %q must be 2-64 characters of [a-z0-9_-]", module)
	}
	if len(files) == 0 {
		return nil, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "script module %s has no .lua file", module)
	}
	if len(files) > MaxBundleFiles {
		return nil, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "script module %s has %d files, more than %d", module, len(files), MaxBundleFiles)
	}
	sorted := append([]File(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	total := 0
	for i, f := range sorted {
		if err := checkFileName(f.Name); err != nil {
			return nil, err
		}
		if i > 0 && sorted[i-1].Name == f.Name {
			return nil, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "script module %s has file %s twice", module, f.Name)
		}
		if len(f.Source) > MaxFileBytes {
			return nil, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "script %s/%s is %d bytes, more than %d", module, f.Name, len(f.Source), MaxFileBytes)
		}
		total += len(f.Source)
	}
	if total > MaxBundleBytes {
		return nil, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "script module %s is %d bytes, more than %d", module, total, MaxBundleBytes)
	}
	b := &Bundle{module: module, files: sorted, hash: hashFiles(sorted)}
	for _, f := range sorted {
		p, err := compile(module+"/"+f.Name, f.Source)
		if err != nil {
			return nil, err
		}
		b.protos = append(b.protos, p)
	}
	return b, nil
}

func checkFileName(name string) error {
	if !strings.HasSuffix(name, ".lua") || len(name) <= len(".lua") || len(name) > 128 ||
		strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "script file name %q must be a plain name ending in .lua", name)
	}
	if isTestFile(name) {
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "script file %q is a test, not part of a bundle", name)
	}
	return nil
}

func isTestFile(name string) bool { return strings.HasSuffix(name, "_test.lua") }

// hashFiles is sha256 over "name\n<len>\n<source>" for each file in order.
func hashFiles(files []File) string {
	h := sha256.New()
	for _, f := range files {
		h.Write([]byte(f.Name + "\n" + strconv.Itoa(len(f.Source)) + "\n"))
		h.Write([]byte(f.Source))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// compile parses and compiles one chunk.
func compile(name, src string) (p *lua.FunctionProto, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = gamemesh.Errorf(gamemesh.CodeInvalidArgument, "%s does not compile: %v", name, r)
		}
	}()
	chunk, err := parse.Parse(strings.NewReader(src), name)
	if err != nil {
		return nil, gamemesh.Wrap(gamemesh.CodeInvalidArgument, err, fmt.Sprintf("%s does not compile: %v", name, err))
	}
	p, err = lua.Compile(chunk, name)
	if err != nil {
		return nil, gamemesh.Wrap(gamemesh.CodeInvalidArgument, err, fmt.Sprintf("%s does not compile: %v", name, err))
	}
	return p, nil
}

// LoadModule reads the bundle of the module in dir: every *.lua file directly
// in it except *_test.lua; the module is the folder's name.
func LoadModule(dir string) (*Bundle, error) {
	files, _, err := readModuleDir(dir)
	if err != nil {
		return nil, err
	}
	return NewBundle(filepath.Base(dir), files)
}

// LoadFiles reads a bundle made of exactly the given files, which must be
// non-test .lua files of one folder; the module is that folder's name (so
// "scripts/achievement/rules.lua" is module achievement). A module of several
// files needs all of them (or LoadModule of the folder).
func LoadFiles(paths ...string) (*Bundle, error) {
	if len(paths) == 0 {
		return nil, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "no script file given")
	}
	dir := filepath.Dir(paths[0])
	var files []File
	for _, p := range paths {
		if filepath.Dir(p) != dir {
			return nil, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "script files %s and %s are not in the same module folder", paths[0], p)
		}
		if err := checkFileName(filepath.Base(p)); err != nil {
			return nil, err
		}
		st, err := os.Stat(p)
		if err != nil {
			return nil, gamemesh.Wrap(gamemesh.CodeNotFound, err, "script file "+p+" cannot be read")
		}
		if st.Size() > MaxFileBytes {
			return nil, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "script %s is %d bytes, more than %d", p, st.Size(), MaxFileBytes)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, gamemesh.Wrap(gamemesh.CodeNotFound, err, "script file "+p+" cannot be read")
		}
		files = append(files, File{Name: filepath.Base(p), Source: string(data)})
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, gamemesh.Wrap(gamemesh.CodeInvalidArgument, err, "bad script folder "+dir)
	}
	return NewBundle(filepath.Base(abs), files)
}

// readModuleDir returns the scripts and the tests of a module folder.
func readModuleDir(dir string) (scripts, tests []File, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, gamemesh.Wrap(gamemesh.CodeNotFound, err, fmt.Sprintf("script folder %s cannot be read", dir))
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".lua") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, nil, fmt.Errorf("stat %s: %w", e.Name(), err)
		}
		if info.Size() > MaxFileBytes {
			return nil, nil, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "script %s is %d bytes, more than %d", filepath.Join(dir, e.Name()), info.Size(), MaxFileBytes)
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, nil, fmt.Errorf("read script %s: %w", e.Name(), err)
		}
		f := File{Name: e.Name(), Source: string(data)}
		if isTestFile(e.Name()) {
			tests = append(tests, f)
		} else {
			scripts = append(scripts, f)
		}
	}
	return scripts, tests, nil
}

// LoadDir reads the bundle of every module folder under root (a folder with
// at least one non-test .lua file), sorted by module name. The first folder
// that fails stops the load.
func LoadDir(root string) ([]*Bundle, error) {
	dirs, err := moduleDirs(root)
	if err != nil {
		return nil, err
	}
	var out []*Bundle
	for _, d := range dirs {
		b, err := LoadModule(d)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// moduleDirs lists the folders under root that hold non-test .lua files.
func moduleDirs(root string) ([]string, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, gamemesh.Wrap(gamemesh.CodeNotFound, err, fmt.Sprintf("script folder %s cannot be read", root))
	}
	var dirs []string
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		d := filepath.Join(root, e.Name())
		files, _ := filepath.Glob(filepath.Join(d, "*.lua"))
		for _, f := range files {
			if !isTestFile(f) {
				dirs = append(dirs, d)
				break
			}
		}
	}
	return dirs, nil
}
