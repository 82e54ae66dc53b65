package bots

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
)

func TestPercentile(t *testing.T) {
	var s []float64
	for i := 1; i <= 100; i++ {
		s = append(s, float64(i))
	}
	for _, c := range []struct {
		in   []float64
		p    float64
		want float64
	}{
		{s, 50, 50}, {s, 99, 99}, {s, 100, 100}, {s, 1, 1},
		{[]float64{7}, 50, 7}, {[]float64{7}, 99, 7},
		{[]float64{1, 2, 3, 4}, 50, 2}, {[]float64{1, 2, 3, 4}, 99, 4},
		{nil, 50, 0},
	} {
		if got := percentile(c.in, c.p); got != c.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", c.in, c.p, got, c.want)
		}
	}
}

func TestRecorderReport(t *testing.T) {
	r := newRecorder(1)
	// 100 successful sends of 1..100 ms, recorded out of order.
	for i := 100; i >= 1; i-- {
		r.observe("mail.send", time.Duration(i)*time.Millisecond, nil)
	}
	r.observe("mail.send", time.Hour, gamemesh.Errorf(gamemesh.CodeRateLimited, "slow down"))
	r.observe("mail.claim", 2*time.Millisecond, nil)
	r.observe("mail.claim", time.Millisecond, gamemesh.Errorf(gamemesh.CodeAlreadyDone, "claimed"))
	r.observe(loginRoute, 3*time.Millisecond, nil)
	r.observe(loginRoute, 3*time.Millisecond, errors.New("refused"))
	r.loginsOK.Add(1)
	r.pushes.Add(5)
	r.sessionLost(gamemesh.Errorf(gamemesh.CodeKicked, "bye"))

	rep := r.report(2, 1500*time.Millisecond)
	send := rep.Calls["mail.send"]
	if send.OK != 100 || send.Err != 1 || send.P50Ms != 50 || send.P99Ms != 99 {
		t.Fatalf("mail.send = %+v, want ok 100 err 1 p50 50 p99 99 (failures not in latency)", send)
	}
	if c := rep.Calls["mail.claim"]; c.OK != 1 || c.Err != 1 {
		t.Fatalf("mail.claim = %+v", c)
	}
	if _, ok := rep.Calls[loginRoute]; ok {
		t.Fatal("login reported among calls")
	}
	if rep.Login.OK != 1 || rep.Login.Err != 1 {
		t.Fatalf("login = %+v", rep.Login)
	}
	// RATE_LIMITED send + ALREADY_DONE claim + failed login + lost session.
	if rep.Errors != 4 {
		t.Fatalf("errors = %d, want 4", rep.Errors)
	}
	for code, n := range map[string]int64{"RATE_LIMITED": 1, "ALREADY_DONE": 1, "INTERNAL": 1, "KICKED": 1} {
		if rep.ErrorCodes[code] != n {
			t.Fatalf("error_codes = %v, want %s: %d", rep.ErrorCodes, code, n)
		}
	}
	if rep.Players != 2 || rep.LoginsOK != 1 || rep.Pushes != 5 || rep.SessionsLost != 1 || rep.DurationS != 1.5 {
		t.Fatalf("report = %+v", rep)
	}
}

func TestReportJSONShape(t *testing.T) {
	rep := Report{
		Players:   3,
		DurationS: 30,
		LoginsOK:  3,
		Calls:     map[string]RouteStats{"mail.send": {OK: 1, Err: 0, P50Ms: 1.2, P99Ms: 3.4}},
		Errors:    0,
		Pushes:    2,
	}
	b := rep.JSON()
	if bytes.ContainsAny(b, "\n") {
		t.Fatalf("JSON spans lines: %s", b)
	}
	want := `{"players":3,"duration_s":30.0,"logins_ok":3,"calls":{"mail.send":{"ok":1,"err":0,"p50_ms":1.2,"p99_ms":3.4}},"errors":0,"pushes":2,`
	if !strings.HasPrefix(string(b), want) {
		t.Fatalf("JSON =\n%s\nwant it to start with\n%s", b, want)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back["duration_s"] != 30.0 || back["errors"] != 0.0 {
		t.Fatalf("decoded %v", back)
	}
	if got := string(Report{}.JSON()); !strings.Contains(got, `"calls":{}`) {
		t.Fatalf("an empty report must have calls {}: %s", got)
	}
}

func TestFloatJSON(t *testing.T) {
	for in, want := range map[float64]string{30: "30.0", 1.23456: "1.235", 0: "0.0", 0.0004: "0.0", 1234.5: "1234.5"} {
		b, err := Float(in).MarshalJSON()
		if err != nil || string(b) != want {
			t.Errorf("Float(%v) = %s, %v; want %s", in, b, err, want)
		}
	}
}

func TestReservoirKeepsBound(t *testing.T) {
	r := newRecorder(1)
	for i := range maxSamples + 1000 {
		r.observe("x.y", time.Duration(i%10)*time.Millisecond, nil)
	}
	if n := len(r.routes["x.y"].samples); n != maxSamples {
		t.Fatalf("%d samples kept, want %d", n, maxSamples)
	}
	if s := r.report(1, time.Second).Calls["x.y"]; s.OK != maxSamples+1000 || s.P99Ms != 9 {
		t.Fatalf("stats %+v", s)
	}
}

func TestConfigDefaultsAndErrors(t *testing.T) {
	ok := Config{Players: 200, Duration: 30 * time.Second, Addr: "tcp://x:1", HTTP: "http://x:2"}
	c, err := ok.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.MailEvery != DefaultMailEvery || c.CallTimeout != DefaultCallTimeout || c.Stagger != 2*time.Second ||
		!strings.HasPrefix(c.Prefix, "bot-") || c.Seed == 0 {
		t.Fatalf("defaults %+v", c)
	}
	c2, _ := ok.withDefaults()
	if c2.Prefix == c.Prefix {
		t.Fatal("the default prefix must differ per run")
	}
	bad := map[string]func(*Config){
		"no players":     func(c *Config) { c.Players = 0 },
		"too many":       func(c *Config) { c.Players = maxPlayers + 1 },
		"no duration":    func(c *Config) { c.Duration = 0 },
		"no addr":        func(c *Config) { c.Addr = "" },
		"no http":        func(c *Config) { c.HTTP = "" },
		"negative mail":  func(c *Config) { c.MailEvery = -time.Second },
		"prefix space":   func(c *Config) { c.Prefix = "a b" },
		"prefix control": func(c *Config) { c.Prefix = "a\nb" },
	}
	for name, mut := range bad {
		c := ok
		mut(&c)
		if _, err := c.withDefaults(); gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
			t.Errorf("%s: err = %v, want INVALID_ARGUMENT", name, err)
		}
	}
}
