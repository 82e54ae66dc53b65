package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh/embedded"
	"github.com/gamemesh/gamemesh/feature"
	"github.com/gamemesh/gamemesh/internal/system"
)

// ctl runs `gamemesh ctl args...` through the binary's entry point.
func ctl(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(context.Background(), append([]string{"ctl"}, args...), &o, &e)
	return code, o.String(), e.String()
}

// mustCtl runs ctl and fails the test unless it succeeds.
func mustCtl(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := ctl(args...)
	if code != 0 {
		t.Fatalf("ctl %q: exit %d, stderr %q", args, code, errOut)
	}
	return out
}

// readConfigFile returns the raw "key": "value||version" pairs of a data
// directory's config file.
func readConfigFile(t *testing.T, dir string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(system.ConfigPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("config file is not JSON: %v\n%s", err, data)
	}
	return m
}

// tableRow returns the fields of the line of a ctl table whose first field is
// name (nil if there is none) and the number of lines.
func tableRow(out, name string) (fields []string, lines int) {
	rows := strings.Split(strings.TrimRight(out, "\n"), "\n")
	for _, l := range rows {
		if f := strings.Fields(l); len(f) > 0 && f[0] == name {
			fields = f
		}
	}
	return fields, len(rows)
}

func wantRow(t *testing.T, out, name string, want ...string) {
	t.Helper()
	got, _ := tableRow(out, name)
	if !slices.Equal(got, append([]string{name}, want...)) {
		t.Errorf("row %s: got %q, want %q in:\n%s", name, got, want, out)
	}
}

func TestCtlFeatureEmbedded(t *testing.T) {
	dir := t.TempDir()
	if out := mustCtl(t, "--data", dir, "feature", "off", "guild"); out != "guild: off (version 1)\n" {
		t.Fatalf("off: stdout %q", out)
	}
	if got := readConfigFile(t, dir)["feature.guild"]; got != "off||1" {
		t.Fatalf("file holds feature.guild = %q, want off||1", got)
	}
	out := mustCtl(t, "--data", dir, "feature", "list")
	wantRow(t, out, "SYSTEM", "STATE", "VERSION")
	wantRow(t, out, "guild", "off", "1")
	wantRow(t, out, "pvp", "on", "-")
	if _, n := tableRow(out, ""); n != 1+len(feature.DefaultSystems()) {
		t.Errorf("list has %d lines, want a header and %d systems:\n%s", n, len(feature.DefaultSystems()), out)
	}

	// Flags may follow the command.
	if out := mustCtl(t, "feature", "on", "guild", "--data", dir); out != "guild: on (version 2)\n" {
		t.Fatalf("on: stdout %q", out)
	}
	if got := readConfigFile(t, dir)["feature.guild"]; got != "on||2" {
		t.Fatalf("file holds feature.guild = %q, want on||2", got)
	}

	// A system outside the built-in list (a Lua module) is listed once set.
	mustCtl(t, "--data", dir, "feature", "off", "raid_boss")
	out = mustCtl(t, "--data", dir, "feature", "list")
	wantRow(t, out, "raid_boss", "off", "1")
	wantRow(t, out, "guild", "on", "2")
}

func TestCtlSettingEmbedded(t *testing.T) {
	dir := t.TempDir()
	if out := mustCtl(t, "--data", dir, "setting", "set", "gate.max_online", "20000"); out != "gate.max_online: 20000 (version 1)\n" {
		t.Fatalf("set: stdout %q", out)
	}
	mustCtl(t, "--data", dir, "setting", "set", "gate.admission_rate", " 250.5 ")
	mustCtl(t, "--data", dir, "setting", "set", "gate.max_online", "0")
	file := readConfigFile(t, dir)
	if file["setting.gate.max_online"] != "0||2" || file["setting.gate.admission_rate"] != "250.5||1" {
		t.Fatalf("file: %v", file)
	}
	if out := mustCtl(t, "--data", dir, "setting", "get", "gate.max_online"); out != "gate.max_online: 0 (version 2)\n" {
		t.Errorf("get: stdout %q", out)
	}
	if out := mustCtl(t, "--data", dir, "setting", "get", "lua.cpu_budget_ms"); out != "lua.cpu_budget_ms: 50 ms (default, not set)\n" {
		t.Errorf("get of an unset setting: stdout %q", out)
	}
	out := mustCtl(t, "--data", dir, "setting", "list")
	wantRow(t, out, "NAME", "VALUE", "DEFAULT", "RANGE", "UNIT", "VERSION")
	wantRow(t, out, "gate.max_online", "0", "10000", "[0,", "1000000]", "-", "2")
	wantRow(t, out, "gate.admission_rate", "250.5", "200", "[1,", "100000]", "-", "1")
	wantRow(t, out, "lua.call_deadline_ms", "250", "250", "[1,", "10000]", "ms", "-")
	wantRow(t, out, "scene.flush_interval_s", "30", "30", "[1,", "3600]", "s", "-")
	if _, n := tableRow(out, ""); n != 1+len(feature.Specs()) {
		t.Errorf("list has %d lines, want a header and %d settings:\n%s", n, len(feature.Specs()), out)
	}
}

// badInputCases are refused before anything is written, in either mode.
var badInputCases = []struct {
	args []string
	want string
}{
	{[]string{"feature", "off", "gu ild"}, `invalid system id "gu ild"`},
	{[]string{"feature", "on", ""}, `invalid system id ""`},
	{[]string{"feature", "off", strings.Repeat("x", 33)}, "invalid system id"},
	{[]string{"feature", "off", "guild.claim"}, "invalid system id"},
	{[]string{"setting", "set", "gate.nope", "5"}, `unknown setting "gate.nope"`},
	{[]string{"setting", "get", "gate.nope"}, `unknown setting "gate.nope"`},
	{[]string{"setting", "set", "gate.max_online", "2000000"}, "gate.max_online: 2000000 out of range [0, 1000000]"},
	{[]string{"setting", "set", "gate.rate_limit", "-1"}, "gate.rate_limit: -1 out of range [0.1, 100000]"},
	{[]string{"setting", "set", "gate.max_online", "many"}, `gate.max_online: "many" is not a whole number`},
	{[]string{"setting", "set", "gate.max_online", "1.5"}, "is not a whole number"},
	{[]string{"setting", "set", "gate.admission_rate", "NaN"}, "is not a finite number"},
	{[]string{"setting", "set", "gate.max_online", ""}, "is not a whole number"},
	{[]string{"feature", "frob", "guild"}, `unknown command "feature frob"`},
	{[]string{"feature"}, "want GROUP VERB"},
	{[]string{"feature", "off"}, "feature off takes ID"},
	{[]string{"feature", "list", "guild"}, "feature list takes no arguments"},
	{[]string{"setting", "set", "gate.max_online"}, "setting set takes NAME VALUE"},
	{[]string{"feature", "off", "guild", "--no-such-flag"}, "flag provided but not defined"},
	{[]string{"feature", "off", "guild", "--timeout", "0s"}, "must be positive"},
}

func TestCtlRefusesBadInputEmbedded(t *testing.T) {
	dir := t.TempDir()
	mustCtl(t, "--data", dir, "feature", "off", "guild")
	mustCtl(t, "--data", dir, "setting", "set", "gate.max_online", "20000")
	before, err := os.ReadFile(system.ConfigPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	cases := append(badInputCases, struct {
		args []string
		want string
	}{[]string{"--redis", "127.0.0.1:1", "feature", "off", "guild"}, "not both"})
	for _, c := range cases {
		args := append([]string{"--data", dir}, c.args...)
		code, out, errOut := ctl(args...)
		if code != 2 {
			t.Errorf("ctl %q: exit %d, want 2 (stderr %q)", args, code, errOut)
		}
		if !strings.Contains(errOut, c.want) {
			t.Errorf("ctl %q: stderr %q does not say %q", args, errOut, c.want)
		}
		if out != "" {
			t.Errorf("ctl %q: wrote %q on stdout", args, out)
		}
		after, err := os.ReadFile(system.ConfigPath(dir))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(before, after) {
			t.Fatalf("ctl %q changed the config file:\n%s\nwas:\n%s", args, after, before)
		}
	}
}

func TestCtlMissingDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "typo")
	code, _, errOut := ctl("--data", dir, "feature", "off", "guild")
	if code != 1 || !strings.Contains(errOut, "does not exist") {
		t.Fatalf("exit %d, stderr %q: want 1 and a data directory that does not exist", code, errOut)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("ctl created %s: %v", dir, err)
	}
}

func TestCtlRedisUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	code, out, errOut := ctl("--redis", addr, "--timeout", "2s", "feature", "off", "guild")
	if code != 1 || !strings.Contains(errOut, "does not answer") || out != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q: want 1 and redis does not answer", code, out, errOut)
	}
}

// concurrentOff runs n `ctl feature off id` at once and returns the versions
// they printed.
func concurrentOff(t *testing.T, n int, id string, flags ...string) []int {
	t.Helper()
	versions := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			code, out, errOut := ctl(append(flags, "feature", "off", id)...)
			if code != 0 {
				t.Errorf("ctl feature off %s: exit %d, stderr %q", id, code, errOut)
				return
			}
			var v int
			if _, err := fmt.Sscanf(out, id+": off (version %d)\n", &v); err != nil {
				t.Errorf("stdout %q: %v", out, err)
			}
			versions[i] = v
		})
	}
	wg.Wait()
	return versions
}

// wantDistinct fails unless versions are exactly from+1 .. from+len(versions).
func wantDistinct(t *testing.T, versions []int, from int) {
	t.Helper()
	got := slices.Sorted(slices.Values(versions))
	for i, v := range got {
		if v != from+i+1 {
			t.Fatalf("concurrent writes got versions %v, want %d..%d each once", got, from+1, from+len(got))
		}
	}
}

func TestCtlConcurrentWritesEmbedded(t *testing.T) {
	dir := t.TempDir()
	const n = 20
	wantDistinct(t, concurrentOff(t, n, "guild", "--data", dir), 0)
	if got := readConfigFile(t, dir)["feature.guild"]; got != "off||"+strconv.Itoa(n) {
		t.Fatalf("file holds %q, want off||%d", got, n)
	}
}

// TestCtlReachesRunningProcess checks that what ctl writes is what a running
// embedded process (feature.Flags over the watched file) reads.
func TestCtlReachesRunningProcess(t *testing.T) {
	dir := t.TempDir()
	fc, err := embedded.OpenFileConfig(system.ConfigPath(dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close()
	flags, err := feature.New(feature.Config{}, feature.Deps{Source: fc})
	if err != nil {
		t.Fatal(err)
	}
	if err := flags.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer flags.Stop(context.Background())
	if !flags.Enabled("guild") {
		t.Fatal("guild is off before ctl ran")
	}
	mustCtl(t, "--data", dir, "feature", "off", "guild")
	mustCtl(t, "--data", dir, "setting", "set", "gate.max_online", "123")
	deadline := time.Now().Add(10 * time.Second)
	for flags.Enabled("guild") || flags.Int(feature.GateMaxOnline) != 123 {
		if time.Now().After(deadline) {
			t.Fatalf("the running process still sees guild on=%v, max_online=%d", flags.Enabled("guild"), flags.Int(feature.GateMaxOnline))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
