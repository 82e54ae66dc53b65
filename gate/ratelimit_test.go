package gate

import (
	"log/slog"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"
	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// tightRate allows burst frames and then (practically) none.
func tightRate(burst, refusals int) func(*Config) {
	return func(c *Config) { c.RateLimit = 0.001; c.RateBurst = burst; c.MaxRateRefusals = refusals }
}

func TestHeartbeatsCountAgainstRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tightRate(2, 3), nil)
	c := e.dial()
	c.login(e, "p1")
	hb := &gamev1.Envelope{Kind: gamev1.Kind_KIND_HEARTBEAT}
	c.write(hb)
	c.write(hb)
	c.write(hb)                        // over the limit: not echoed (refusal 1)
	seq := c.request("echo.echo", nil) // refusal 2
	for _, want := range []gamev1.Kind{gamev1.Kind_KIND_HEARTBEAT, gamev1.Kind_KIND_HEARTBEAT} {
		if got := c.read(); got.Kind != want {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if got := c.expectResponse(seq, gamemesh.CodeRateLimited); !contains(got.Error, "rate limit") {
		t.Fatalf("message %q", got.Error)
	}
	c.write(hb) // refusal 3
	c.write(hb) // refusal 4: persistent
	if kick := c.expectKick(gamemesh.CodeRateLimited); !contains(kick.Error, "persistently") {
		t.Fatalf("kick message %q", kick.Error)
	}
	eventually(t, "session released", func() bool { return e.g.Online() == 0 })
}

func TestQueuedFramesCountAgainstRateLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { tightRate(2, 2)(c); c.MaxOnline = 1 }, nil)
	c0 := e.dial()
	c0.login(e, "p0")
	q := e.dial()
	q.sendLogin(e.ticket("p1"))
	q.expectQueue(1, 1)
	for i, want := range []gamemesh.Code{gamemesh.CodeNotLoggedIn, gamemesh.CodeNotLoggedIn, gamemesh.CodeRateLimited} {
		seq := q.request("echo.echo", nil)
		if got := q.expectResponse(seq, want); i == 2 && !contains(got.Error, "rate limit") {
			t.Fatalf("message %q", got.Error)
		}
	}
	q.write(&gamev1.Envelope{Kind: gamev1.Kind_KIND_HEARTBEAT}) // refusal 2, not echoed
	q.write(&gamev1.Envelope{Kind: gamev1.Kind_KIND_HEARTBEAT}) // refusal 3: kicked
	q.expectKick(gamemesh.CodeRateLimited)
	eventually(t, "queue place freed", func() bool { return e.g.Queued() == 0 })
	c0.heartbeatRoundTrip() // its own bucket is untouched
}

// TestRefusalsOutweighedByAcceptedFrames checks the strike count: accepted
// frames take refusals back, so only refusals that keep outnumbering them kick.
func TestRefusalsOutweighedByAcceptedFrames(t *testing.T) {
	t.Parallel()
	g := &Gate{cfg: Config{MaxRateRefusals: 3, OutQueue: 4, MaxOutFrame: 1 << 16}, log: slog.New(slog.DiscardHandler)}
	g.limits.Store(&Limits{RateLimit: 1, RateBurst: 1})
	g.wg.Add(1) // the session's
	s := g.newSession(nil)
	s.limiter = rate.NewLimiter(0, 0)
	defer g.wg.Wait() // the kick of a session without a connection finishes it
	step := func(open bool, wantAnswer, wantKeep bool) {
		t.Helper()
		if open {
			s.limiter.SetLimit(rate.Inf)
		} else {
			s.limiter.SetLimit(0)
		}
		if answer, keep := s.allow(time.Now()); answer != wantAnswer || keep != wantKeep {
			t.Fatalf("strikes %d: allow() = %v, %v; want %v, %v", s.strikes, answer, keep, wantAnswer, wantKeep)
		}
	}
	step(false, false, true) // 1
	step(false, false, true) // 2
	step(false, false, true) // 3
	step(true, true, true)   // 2
	step(true, true, true)   // 1
	step(false, false, true) // 2
	step(false, false, true) // 3
	if s.out.ended() {
		t.Fatal("kicked too early")
	}
	step(false, false, false) // 4 > 3: kicked
	if !s.out.ended() {
		t.Fatal("no kick queued")
	}
}

func TestWebSocketPingsRateLimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tightRate(3, 2), nil)
	w := e.dialWS()
	pongs := make(chan string, 16)
	w.c.SetPongHandler(func(data string) error {
		pongs <- data
		return nil
	})
	body, _ := proto.Marshal(&gamev1.LoginRequest{Ticket: e.ticket("p1")})
	w.write(&gamev1.Envelope{Kind: gamev1.Kind_KIND_LOGIN, Body: body})
	if got := w.read(); got.Route != "login" {
		t.Fatalf("login answer %v", got)
	}
	ping := func(data string) {
		t.Helper()
		if err := w.c.WriteControl(websocket.PingMessage, []byte(data), time.Now().Add(ioWait)); err != nil {
			t.Fatal(err)
		}
	}
	ping("a")                                                   // frame 1
	w.write(&gamev1.Envelope{Kind: gamev1.Kind_KIND_HEARTBEAT}) // frame 2
	if got := w.read(); got.Kind != gamev1.Kind_KIND_HEARTBEAT {
		t.Fatalf("got %v, want the heartbeat echo", got)
	}
	if got := drain(pongs); len(got) != 1 || got[0] != "a" {
		t.Fatalf("pongs before the echo: %q, want [a]", got)
	}
	ping("b") // frame 3, the last of the burst
	ping("c") // refused
	ping("d") // refused
	ping("e") // refused a third time: kicked
	if got := w.read(); got.Kind != gamev1.Kind_KIND_KICK || got.Code != gamemesh.CodeRateLimited {
		t.Fatalf("got %v, want KICK RATE_LIMITED", got)
	}
	if got := drain(pongs); len(got) != 1 || got[0] != "b" {
		t.Fatalf("pongs: %q, want only [b]", got)
	}
	w.expectClose()
}

func drain(ch chan string) []string {
	var out []string
	for {
		select {
		case s := <-ch:
			out = append(out, s)
		default:
			return out
		}
	}
}
