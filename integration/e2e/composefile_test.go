package e2e

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// composeFile is the part of a compose file the tests read, either as
// written (variables unresolved) or as `compose config` prints it.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

// composeService is one service; the YAML merge keys (<<: *anchor) of the
// file are resolved by the decoder.
type composeService struct {
	Image       string                      `yaml:"image"`
	Build       any                         `yaml:"build"`
	Command     []string                    `yaml:"command"`
	Entrypoint  []string                    `yaml:"entrypoint"`
	Environment map[string]string           `yaml:"environment"`
	Ports       []any                       `yaml:"ports"`
	Volumes     []any                       `yaml:"volumes"`
	NetworkMode string                      `yaml:"network_mode"`
	Profiles    []string                    `yaml:"profiles"`
	DependsOn   map[string]composeDependsOn `yaml:"depends_on"`
	Healthcheck *composeHealthcheck         `yaml:"healthcheck"`
	Restart     string                      `yaml:"restart"`
}

type composeDependsOn struct {
	Condition string `yaml:"condition"`
}

type composeHealthcheck struct {
	Test []string `yaml:"test"`
}

// flag returns the value following name in the service's command ("" when
// absent), and how many times name occurs.
func (s composeService) flag(name string) (string, int) {
	val, n := "", 0
	for i, a := range s.Command {
		if a == name && i+1 < len(s.Command) {
			if n == 0 {
				val = s.Command[i+1]
			}
			n++
		}
	}
	return val, n
}

// flagValues returns every value given to name in the command.
func (s composeService) flagValues(name string) []string {
	var vals []string
	for i, a := range s.Command {
		if a == name && i+1 < len(s.Command) {
			vals = append(vals, s.Command[i+1])
		}
	}
	return vals
}

// isDaprd reports whether the service runs a Dapr sidecar.
func (s composeService) isDaprd() bool {
	return strings.HasPrefix(s.Image, "daprio/daprd:")
}

// isGamemesh reports whether the service runs the gamemesh image.
func (s composeService) isGamemesh() bool {
	return strings.HasPrefix(s.Image, "gamemesh/gamemesh:")
}

// longRunning reports whether `compose up` starts the service (it has no
// profile, so it is part of the stack rather than a tool run on demand).
func (s composeService) longRunning() bool { return len(s.Profiles) == 0 }

func parseCompose(t testing.TB, b []byte) composeFile {
	t.Helper()
	var f composeFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("parsing the compose file: %v", err)
	}
	if len(f.Services) == 0 {
		t.Fatal("the compose file has no services")
	}
	return f
}

// repoRoot is the module root (this file is in integration/e2e/).
func repoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the source tree")
	}
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

func readRepoFile(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
