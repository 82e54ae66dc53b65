package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

func TestUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "usage: gamemesh COMMAND"},
		{[]string{"help"}, 0, "commands:"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"up", "--no-such-flag"}, 2, "flag provided but not defined"},
		{[]string{"bots", "-n", "many"}, 2, "invalid value"},
		{[]string{"bots", "stray"}, 2, "unexpected arguments"},
		{[]string{"up", "--log-level", "loud"}, 1, "log level"},
	}
	for _, c := range cases {
		var stdout, stderr bytes.Buffer
		if got := run(context.Background(), c.args, &stdout, &stderr); got != c.code {
			t.Errorf("gamemesh %v: exit %d, want %d (stderr %q)", c.args, got, c.code, stderr.String())
		}
		if !strings.Contains(stderr.String(), c.want) {
			t.Errorf("gamemesh %v: stderr %q does not say %q", c.args, stderr.String(), c.want)
		}
		if stdout.Len() != 0 {
			t.Errorf("gamemesh %v: wrote %q on stdout", c.args, stdout.String())
		}
	}
}

// TestUpThenBots is the README's first run: `gamemesh up`, then `gamemesh bots`,
// which must print exactly one JSON line with no errors.
func TestUpThenBots(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	up := startUp(t, bin, t.TempDir())
	cmd := exec.Command(bin, "bots", "-n", "40", "-d", "3s", "--mail-every", "300ms", "--addr", up.tcp, "--http", up.httpBase)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("bots: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("bots printed %d lines on stdout, want exactly one JSON line:\n%s", len(lines), stdout.String())
	}
	var rep struct {
		Players  int     `json:"players"`
		Duration float64 `json:"duration_s"`
		LoginsOK int     `json:"logins_ok"`
		Errors   int     `json:"errors"`
		Calls    map[string]struct {
			OK  int     `json:"ok"`
			Err int     `json:"err"`
			P50 float64 `json:"p50_ms"`
			P99 float64 `json:"p99_ms"`
		} `json:"calls"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &rep); err != nil {
		t.Fatalf("bots line is not JSON: %v\n%s", err, lines[0])
	}
	if rep.Players != 40 || rep.LoginsOK != 40 || rep.Errors != 0 {
		t.Fatalf("want 40 players, 40 logins, 0 errors: %s", lines[0])
	}
	for _, route := range []string{"mail.send", "mail.list", "mail.claim", "player.get"} {
		c, ok := rep.Calls[route]
		if !ok || c.OK == 0 || c.Err != 0 || c.P99 < c.P50 {
			t.Errorf("route %s: %+v in %s", route, c, lines[0])
		}
	}
}
