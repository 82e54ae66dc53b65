package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gamemesh/gamemesh/gate"
	"github.com/gamemesh/gamemesh/internal/system"
	"github.com/gamemesh/gamemesh/luavm"
)

// scriptNode is `gamemesh up` on a data directory with its scripts folder,
// run in the test process with its IDIP API on a free port.
type scriptNode struct {
	e *system.Embedded
}

func startScriptNode(t *testing.T, dataDir, scripts string) *scriptNode {
	t.Helper()
	e, err := system.NewEmbedded(system.EmbeddedConfig{DataDir: dataDir, IDIPAddr: "127.0.0.1:0",
		Gate: gate.Config{TCPAddr: "127.0.0.1:0", WSAddr: "127.0.0.1:0"},
		Lua:  system.LuaConfig{ScriptsDir: scripts, Canary: luavm.CanaryPolicy{Disabled: true}, Reread: 100 * time.Millisecond}},
		slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	n := &scriptNode{e: e}
	if err := e.Start(context.Background()); err != nil {
		n.stop(t)
		t.Fatal(err)
	}
	return n
}

func (n *scriptNode) stop(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.e.Stop(ctx); err != nil {
		t.Error(err)
	}
}

// waitGreet waits (bounded) until greet.hello answers want.
func (n *scriptNode) waitGreet(t *testing.T, want string) luavm.Generation {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, gen, err := n.e.Lua().CallBatch(context.Background(), "greet", []luavm.Call{{Fn: "hello"}})
		if err != nil || res[0].Err != nil {
			t.Fatalf("hello: %v %v", err, res)
		}
		if res[0].Values[0] == want {
			return gen
		}
		if time.Now().After(deadline) {
			t.Fatalf("hello = %v on %v, want %q", res[0].Values[0], gen, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func writeGreet(t *testing.T, root, v, extra string) string {
	t.Helper()
	dir := filepath.Join(root, "greet")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "hello.lua")
	if err := os.WriteFile(f, []byte("function hello() return \""+v+"\" end\n"+extra), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestCtlScriptFullPath(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dataDir, scripts, edits := t.TempDir(), t.TempDir(), t.TempDir()
	writeGreet(t, scripts, "v1", "")
	n := startScriptNode(t, dataDir, scripts)
	stopped := false
	defer func() {
		if !stopped {
			n.stop(t)
		}
	}()
	n.waitGreet(t, "v1")

	// Push a change to the running node: ctl finds its IDIP API in the data
	// directory (its bbolt file is locked by the node).
	f := writeGreet(t, edits, "v2", "")
	out := mustCtl(t, "script", "push", f, "--data", dataDir, "--by", "alice")
	if !strings.Contains(out, "greet: generation 2, hash ") {
		t.Fatalf("push output %q", out)
	}
	if gen := n.waitGreet(t, "v2"); gen.Number != 2 || gen.By != "alice" {
		t.Fatalf("served %+v", gen)
	}

	// A push that does not compile is refused, exit 1, nothing written.
	broken := writeGreet(t, edits, "v3", "function oops( end\n")
	code, _, errOut := ctl("script", "push", broken, "--data", dataDir)
	if code != 1 || !strings.Contains(errOut, "does not compile") {
		t.Fatalf("broken push: exit %d, stderr %q", code, errOut)
	}
	out = mustCtl(t, "script", "list", "greet", "--data", dataDir)
	if lines := strings.Count(out, "\n"); lines != 3 || !strings.Contains(out, "alice") {
		t.Fatalf("list after broken push:\n%s", out)
	}
	if row := strings.Fields(strings.Split(out, "\n")[1]); len(row) < 7 || row[1] != "2" || row[len(row)-1] != "*" {
		t.Fatalf("newest row %q in\n%s", row, out)
	}
	n.waitGreet(t, "v2")

	// Rollback to the previous generation restores the old behaviour.
	out = mustCtl(t, "script", "rollback", "greet", "--data", dataDir)
	if !strings.Contains(out, "rolled back to generation 1") {
		t.Fatalf("rollback output %q", out)
	}
	n.waitGreet(t, "v1")
	if code, _, errOut := ctl("script", "rollback", "greet", "7", "--data", dataDir); code != 1 || !strings.Contains(errOut, "no such generation") {
		t.Fatalf("rollback to a missing generation: exit %d %q", code, errOut)
	}
	n.stop(t)
	stopped = true

	// No node running: ctl writes the data directory itself; the URL file
	// of a crashed node is ignored; a node started later runs the push.
	if _, err := os.Stat(system.IDIPURLPath(dataDir)); !os.IsNotExist(err) {
		t.Fatalf("a stopped node left its IDIP URL file: %v", err)
	}
	if err := os.WriteFile(system.IDIPURLPath(dataDir), []byte("http://127.0.0.1:1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustCtl(t, "script", "push", filepath.Dir(writeGreet(t, edits, "v4", "")), "--data", dataDir, "--by", "carol")
	out = mustCtl(t, "script", "list", "--data", dataDir)
	if !strings.Contains(out, "carol") || !strings.Contains(out, "greet") {
		t.Fatalf("list of every module:\n%s", out)
	}
	n = startScriptNode(t, dataDir, scripts)
	defer n.stop(t)
	if gen := n.waitGreet(t, "v4"); gen.Number != 3 || gen.By != "carol" {
		t.Fatalf("after restart %+v", gen)
	}
	// Rollback by number, through the node again.
	mustCtl(t, "script", "rollback", "greet", "2", "--data", dataDir)
	n.waitGreet(t, "v2")
}

func TestCtlScriptBadInput(t *testing.T) {
	dataDir := t.TempDir()
	for _, args := range [][]string{
		{"script"},
		{"script", "push"},
		{"script", "frob"},
		{"script", "list", "a", "b"},
		{"script", "rollback"},
		{"script", "rollback", "greet", "zero"},
		{"script", "rollback", "greet", "-1"},
		{"script", "rollback", "Bad/Name"},
		{"script", "list", "--redis", "127.0.0.1:1"},
	} {
		if code, _, errOut := ctl(append(args, "--data", dataDir)...); code != 2 {
			t.Errorf("ctl %q: exit %d, stderr %q", args, code, errOut)
		}
	}
	// A missing file or a file that is not a module script: exit 1, nothing written.
	if code, _, errOut := ctl("script", "push", filepath.Join(dataDir, "nope.lua"), "--data", dataDir); code != 1 || !strings.Contains(errOut, "cannot be read") {
		t.Errorf("missing file: exit %d %q", code, errOut)
	}
	if _, err := os.Stat(system.DBPath(dataDir)); !os.IsNotExist(err) {
		t.Errorf("refused commands created the store: %v", err)
	}
}
