package gamemesh_test

import (
	"os/exec"
	"strings"
	"testing"
)

// businessPackages must never depend on an adapter: they talk to the ports in
// the root package, and only internal/system picks adapters.
var businessPackages = []string{
	".",
	"./functions/...",
	"./gate/...",
	"./scene/...",
	"./scenehost/...",
	"./luavm/...",
	"./feature/...",
	"./directory/...",
	"./client/...",
	"./ticket/...",
	"./wire/...",
}

const module = "github.com/gamemesh/gamemesh"

// forbidden returns why dep may not be imported by pkg, or "".
func forbidden(pkg, dep string) string {
	switch {
	case dep == module+"/dapr" || strings.HasPrefix(dep, module+"/dapr/"):
		return "the dapr adapter"
	case dep == module+"/embedded" || strings.HasPrefix(dep, module+"/embedded/"):
		return "the embedded adapter"
	case strings.HasPrefix(dep, module+"/internal/system"):
		return "the composition root"
	case strings.HasPrefix(dep, "github.com/dapr/"):
		return "the Dapr SDK"
	case strings.HasPrefix(dep, "github.com/yuin/gopher-lua") &&
		pkg != module+"/luavm" && !strings.HasPrefix(pkg, module+"/luavm/"):
		return "gopher-lua outside luavm"
	}
	return ""
}

func TestBusinessPackagesImportNoAdapter(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatalf("the go tool is needed to list dependencies: %v", err)
	}
	for _, pattern := range businessPackages {
		// -e: a pattern that matches nothing yet (a package not written) is not an error.
		out, err := exec.Command("go", "list", "-e", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, pattern).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pattern, err, out)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			fields := strings.Fields(line)
			if len(fields) == 0 || strings.Contains(line, "matched no packages") {
				continue
			}
			pkg := fields[0]
			for _, dep := range fields[1:] {
				if why := forbidden(pkg, dep); why != "" {
					t.Errorf("%s imports %s (%s); business code talks to the ports, internal/system picks adapters", pkg, dep, why)
				}
			}
		}
	}
}

func TestForbiddenRules(t *testing.T) {
	cases := []struct {
		pkg, dep string
		bad      bool
	}{
		{module + "/gate", module + "/dapr", true},
		{module + "/functions/mail", module + "/embedded", true},
		{module + "/gate", "github.com/dapr/go-sdk/client", true},
		{module + "/scene", "github.com/yuin/gopher-lua", true},
		{module + "/luavm", "github.com/yuin/gopher-lua", false},
		{module + "/gate", module + "/wire", false},
		{module + "/gate", module + "/dapperlib", false},
	}
	for _, c := range cases {
		if got := forbidden(c.pkg, c.dep) != ""; got != c.bad {
			t.Errorf("forbidden(%s, %s) = %v, want %v", c.pkg, c.dep, got, c.bad)
		}
	}
}
