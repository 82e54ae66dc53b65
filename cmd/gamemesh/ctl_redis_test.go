package main

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/directory/redisdir"
	"github.com/gamemesh/gamemesh/internal/redistest"
)

// startRedis starts a throwaway redis-server for the test (skipped without
// one, except under CI=true).
func startRedis(t *testing.T) (string, *redis.Client) {
	t.Helper()
	srv := redistest.Start(t)
	return srv.Addr, srv.Client
}

func redisGet(t *testing.T, c *redis.Client, key string) string {
	t.Helper()
	v, err := c.Get(context.Background(), key).Result()
	if err != nil {
		t.Fatalf("GET %s: %v", key, err)
	}
	return v
}

func TestCtlRedis(t *testing.T) {
	addr, c := startRedis(t)
	ctx := context.Background()
	if out := mustCtl(t, "--redis", addr, "--wait", "0", "feature", "off", "guild"); out != "guild: off (version 1)\n" {
		t.Fatalf("off: stdout %q", out)
	}
	if v := redisGet(t, c, "feature.guild"); v != "off||1" {
		t.Fatalf("feature.guild = %q, want off||1", v)
	}
	noRoster := "\nconverged: no running process announces itself in the roster\n"
	if out := mustCtl(t, "feature", "on", "guild", "--redis", addr); out != "guild: on (version 2)"+noRoster {
		t.Fatalf("on: stdout %q", out)
	}
	if v := redisGet(t, c, "feature.guild"); v != "on||2" {
		t.Fatalf("feature.guild = %q, want on||2", v)
	}

	// Versions continue from what is stored; a value without one starts at 1.
	if err := c.MSet(ctx, "feature.pvp", "on||41", "feature.chat", "off", "feature.raid_boss", "off||3").Err(); err != nil {
		t.Fatal(err)
	}
	if out := mustCtl(t, "--redis", addr, "feature", "off", "pvp"); out != "pvp: off (version 42)"+noRoster {
		t.Fatalf("off pvp: stdout %q", out)
	}
	if v := redisGet(t, c, "feature.pvp"); v != "off||42" {
		t.Fatalf("feature.pvp = %q, want off||42", v)
	}
	mustCtl(t, "--redis", addr, "feature", "on", "chat")
	if v := redisGet(t, c, "feature.chat"); v != "on||1" {
		t.Fatalf("feature.chat = %q, want on||1", v)
	}
	out := mustCtl(t, "--redis", addr, "feature", "list")
	wantRow(t, out, "guild", "on", "2")
	wantRow(t, out, "pvp", "off", "42")
	wantRow(t, out, "raid_boss", "off", "3")
	wantRow(t, out, "login", "on", "-")

	if out := mustCtl(t, "--redis", addr, "setting", "set", "gate.max_online", "20000"); out != "gate.max_online: 20000 (version 1)"+noRoster {
		t.Fatalf("set: stdout %q", out)
	}
	mustCtl(t, "--redis", addr, "setting", "set", "gate.max_online", "30000")
	if v := redisGet(t, c, "setting.gate.max_online"); v != "30000||2" {
		t.Fatalf("setting.gate.max_online = %q, want 30000||2", v)
	}
	if out := mustCtl(t, "--redis", addr, "setting", "get", "gate.max_online"); out != "gate.max_online: 30000 (version 2)\n" {
		t.Errorf("get: stdout %q", out)
	}
	out = mustCtl(t, "--redis", addr, "setting", "list")
	wantRow(t, out, "gate.max_online", "30000", "10000", "[0,", "1000000]", "-", "2")
	wantRow(t, out, "gate.queue_cap", "5000", "5000", "[0,", "1000000]", "-", "-")
}

func TestCtlRefusesBadInputRedis(t *testing.T) {
	addr, c := startRedis(t)
	ctx := context.Background()
	mustCtl(t, "--redis", addr, "feature", "off", "guild")
	mustCtl(t, "--redis", addr, "setting", "set", "gate.max_online", "20000")
	snapshot := func() map[string]string {
		keys, err := c.Keys(ctx, "*").Result()
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, k := range keys {
			m[k] = redisGet(t, c, k)
		}
		return m
	}
	before := snapshot()
	for _, bc := range badInputCases {
		args := append([]string{"--redis", addr}, bc.args...)
		code, out, errOut := ctl(args...)
		if code != 2 || !strings.Contains(errOut, bc.want) || out != "" {
			t.Errorf("ctl %q: exit %d, stdout %q, stderr %q: want 2 and %q", args, code, out, errOut, bc.want)
		}
		if after := snapshot(); !maps.Equal(before, after) {
			t.Fatalf("ctl %q changed Redis: %v, was %v", args, after, before)
		}
	}
}

func TestCtlConcurrentWritesRedis(t *testing.T) {
	addr, c := startRedis(t)
	const n = 20
	wantDistinct(t, concurrentOff(t, n, "guild", "--redis", addr), 0)
	if v := redisGet(t, c, "feature.guild"); v != fmt.Sprintf("off||%d", n) {
		t.Fatalf("feature.guild = %q, want off||%d", v, n)
	}
}

// With processes in the roster, a write waits until each of them reports
// the new version, and says so; one that never does makes ctl fail, naming
// it, after --wait (the write itself stays: it is in the store).
func TestCtlRedisWaitsForConvergence(t *testing.T) {
	addr, c := startRedis(t)
	ctx := context.Background()
	roster := redisdir.NewRoster(c, "", 0)
	announce := func(id, version string) {
		t.Helper()
		info := map[string]string{}
		if version != "" {
			info[directory.InfoConfigPrefix+"feature.guild"] = version
		}
		if err := roster.Announce(ctx, directory.Member{ID: id, Kind: directory.KindGate, Info: info}); err != nil {
			t.Error(err) // also called from goroutines
		}
	}
	announce("gate-1", "")
	announce("gate-2", "")
	go func() {
		time.Sleep(300 * time.Millisecond)
		announce("gate-1", "1")
		announce("gate-2", "1")
	}()
	out := mustCtl(t, "--redis", addr, "feature", "off", "guild")
	if !strings.HasPrefix(out, "guild: off (version 1)\nconverged: 2 processes in ") || !strings.Contains(out, "(gate-1, gate-2)") {
		t.Fatalf("stdout %q, want the version and both gates converged", out)
	}

	go func() { // gate-1 applies version 2, gate-2 never does
		time.Sleep(100 * time.Millisecond)
		announce("gate-1", "2")
	}()
	code, out, errOut := ctl("--redis", addr, "--wait", "500ms", "feature", "on", "guild")
	if code != 1 || !strings.Contains(errOut, "gate-2 (1)") || strings.Contains(errOut, "gate-1") || out != "guild: on (version 2)\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want exit 1 naming gate-2 at version 1", code, out, errOut)
	}
	if v := redisGet(t, c, "feature.guild"); v != "on||2" {
		t.Fatalf("feature.guild = %q: the write must stay", v)
	}
}
