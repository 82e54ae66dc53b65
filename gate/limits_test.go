package gate

import (
	"context"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
)

// switches is an in-test Features: systems in off are switched off.
type switches struct {
	mu  sync.RWMutex
	off map[string]bool
}

func (s *switches) Enabled(system string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return !s.off[system]
}

func (s *switches) set(system string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.off[system] = !on
}

func TestFeatureDisabled(t *testing.T) {
	t.Parallel()
	sw := &switches{off: map[string]bool{}}
	var calls atomic.Int64
	e := newEnvDeps(t, nil, func(r *functions.Registry) {
		r.Handle("mail", "list", functions.Method{Public: true, Handler: func(_ context.Context, req gamemesh.Request) ([]byte, error) {
			calls.Add(1)
			return []byte("mails"), nil
		}})
	}, func(d *Deps) { d.Features = sw })
	c := e.dial()
	c.login(e, "p1")

	seq := c.request("mail.list", nil)
	c.expectResponse(seq, gamemesh.CodeOK)

	sw.set("mail", false)
	seq = c.request("mail.list", nil)
	resp := c.expectResponse(seq, gamemesh.CodeFeatureDisabled)
	if !strings.Contains(resp.Error, "mail") || resp.Route != "mail.list" {
		t.Fatalf("refusal %v", resp)
	}
	// Unknown methods of a switched-off system are refused the same way.
	seq = c.request("mail.nope", nil)
	c.expectResponse(seq, gamemesh.CodeFeatureDisabled)
	// Other systems keep working.
	seq = c.request("echo.echo", []byte("x"))
	c.expectResponse(seq, gamemesh.CodeOK)
	if n := calls.Load(); n != 1 {
		t.Fatalf("mail.list ran %d times, want 1: a switched-off call left the gate", n)
	}

	sw.set("mail", true)
	seq = c.request("mail.list", nil)
	if got := c.expectResponse(seq, gamemesh.CodeOK); string(got.Body) != "mails" {
		t.Fatalf("body %q", got.Body)
	}
}

func TestSetLimitsRefusesInvalid(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	before := e.g.Limits()
	good := before
	cases := map[string]func(l *Limits){
		"negative max online": func(l *Limits) { l.MaxOnline = -1 },
		"negative queue cap":  func(l *Limits) { l.QueueCap = -1 },
		"zero burst":          func(l *Limits) { l.RateBurst = 0 },
		"zero rate":           func(l *Limits) { l.RateLimit = 0 },
		"infinite rate":       func(l *Limits) { l.RateLimit = math.Inf(1) },
		"NaN admission":       func(l *Limits) { l.AdmissionRate = math.NaN() },
	}
	for name, mutate := range cases {
		l := good
		mutate(&l)
		if err := e.g.SetLimits(l); err == nil {
			t.Errorf("%s: accepted %+v", name, l)
		}
		if got := e.g.Limits(); got != before {
			t.Fatalf("%s: limits changed to %+v", name, got)
		}
	}
}

func TestSetLimitsAdmitsAndRefuses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.MaxOnline = 1; c.QueueCap = 5 }, nil)
	c0 := e.dial()
	c0.login(e, "p0")
	c1 := e.dial()
	c1.sendLogin(e.ticket("p1"))
	c1.expectQueue(1, 1)

	// A higher MaxOnline admits the queued login without a restart.
	l := e.g.Limits()
	l.MaxOnline = 2
	if err := e.g.SetLimits(l); err != nil {
		t.Fatal(err)
	}
	if resp := c1.expectLogin(); resp.PlayerId != "p1" {
		t.Fatalf("admitted %s", resp.PlayerId)
	}

	// A queue cap of 0 refuses the next login once the gate is full.
	l.QueueCap = 0
	if err := e.g.SetLimits(l); err != nil {
		t.Fatal(err)
	}
	c2 := e.dial()
	c2.sendLogin(e.ticket("p2"))
	c2.expectKick(gamemesh.CodeServerFull)

	// A lower MaxOnline kicks nobody.
	l.MaxOnline = 1
	if err := e.g.SetLimits(l); err != nil {
		t.Fatal(err)
	}
	c0.heartbeatRoundTrip()
	c1.heartbeatRoundTrip()
	if e.g.Online() != 2 {
		t.Fatalf("online %d", e.g.Online())
	}
}

func TestSetLimitsRateAppliesToLiveSessions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	c := e.dial()
	c.login(e, "p1")
	seq := c.request("echo.echo", nil)
	c.expectResponse(seq, gamemesh.CodeOK)

	l := e.g.Limits()
	l.RateLimit, l.RateBurst = 0.01, 1
	if err := e.g.SetLimits(l); err != nil {
		t.Fatal(err)
	}
	seq = c.request("echo.echo", nil)
	c.expectResponse(seq, gamemesh.CodeOK)
	seq = c.request("echo.echo", nil)
	if resp := c.expectResponse(seq, gamemesh.CodeRateLimited); !strings.Contains(resp.Error, "0.01") {
		t.Fatalf("refusal %q does not give the new limit", resp.Error)
	}

	// A session that logs in afterwards gets the new limit too.
	c2 := e.dial()
	c2.login(e, "p2")
	seq = c2.request("echo.echo", nil)
	c2.expectResponse(seq, gamemesh.CodeOK)
	seq = c2.request("echo.echo", nil)
	c2.expectResponse(seq, gamemesh.CodeRateLimited)

	// And raising it lifts the limit on both (the buckets refill at the new
	// rate: 1000/s is a token per millisecond).
	l.RateLimit, l.RateBurst = 1000, 1000
	if err := e.g.SetLimits(l); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	for _, cl := range []*client{c, c2} {
		seq = cl.request("echo.echo", nil)
		cl.expectResponse(seq, gamemesh.CodeOK)
	}
}

// TestSetLimitsUnderLoad changes limits while clients log in and call; the
// race detector checks the hand-over.
func TestSetLimitsUnderLoad(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.MaxOnline = 4 }, nil)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			l := e.g.Limits()
			l.MaxOnline = 4 + i%4
			l.RateLimit = float64(500 + i%2*500)
			l.RateBurst = 500 + i%2*500
			l.AdmissionRate = float64(100 + i%3*100)
			if err := e.g.SetLimits(l); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for i := range 4 {
		c := e.dial()
		c.login(e, gamemesh.PlayerID("p"+string(rune('a'+i))))
		for range 20 {
			seq := c.request("echo.echo", nil)
			c.expectResponse(seq, gamemesh.CodeOK)
		}
	}
	close(stop)
	wg.Wait()
}
