package gate

import (
	"context"
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/wire"
)

// bigFunctions registers big.get (a body of the default frame limit, so the
// response is over it) and big.fit (a body that fits with room to spare).
func bigFunctions(r *functions.Registry) {
	r.Handle("big", "get", functions.Method{Public: true, Handler: func(context.Context, gamemesh.Request) ([]byte, error) {
		return make([]byte, wire.DefaultMaxFrame), nil
	}})
	r.Handle("big", "fit", functions.Method{Public: true, Handler: func(context.Context, gamemesh.Request) ([]byte, error) {
		return make([]byte, wire.DefaultMaxFrame-100), nil
	}})
}

func TestResponseOverClientLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, bigFunctions)
	if e.g.cfg.MaxOutFrame != wire.DefaultMaxFrame {
		t.Fatalf("default MaxOutFrame %d", e.g.cfg.MaxOutFrame)
	}
	c := e.dial() // reads frames up to 1 MiB: it would take what a real client refuses
	c.login(e, "p1")

	seq := c.request("big.get", nil)
	got := c.read()
	if got.ReplyTo != seq || got.Code != gamemesh.CodeBodyTooLarge || got.Error != "response too large" ||
		got.Route != "big.get" || len(got.Body) != 0 || got.Seq != 2 {
		t.Fatalf("answer %s", summary(got))
	}
	seq = c.request("big.fit", nil)
	if got := c.read(); got.ReplyTo != seq || got.Code != gamemesh.CodeOK || len(got.Body) != wire.DefaultMaxFrame-100 || got.Seq != 3 {
		t.Fatalf("fitting response %s", summary(got))
	}

	// A push over the limit is dropped; the next one goes through, numbered
	// right after the last frame sent.
	e.sub.push(t, "p1", "big.push", make([]byte, wire.DefaultMaxFrame))
	e.sub.push(t, "p1", "small.push", []byte("x"))
	if got := c.read(); got.Kind != gamev1.Kind_KIND_PUSH || got.Route != "small.push" || got.Seq != 4 {
		t.Fatalf("got %s, want the small push as frame 4", summary(got))
	}
	c.heartbeatRoundTrip()
}

// TestOversizeAnswerWithLongRoute: when even the error answer would be over
// the limit (the request's route is echoed back), the route is left out.
func TestOversizeAnswerWithLongRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.MaxOutFrame = MinFrameSize; c.MaxFrameSize = 4 * MinFrameSize }, nil)
	c := e.dial()
	c.login(e, "p1")
	route := "echo." + string(make([]byte, MinFrameSize)) // unknown route, echoed in the answer
	seq := c.request(route, nil)
	got := c.read()
	if got.ReplyTo != seq || got.Code != gamemesh.CodeBodyTooLarge || got.Route != "" || proto.Size(got) > MinFrameSize {
		t.Fatalf("answer %s", summary(got))
	}
	c.heartbeatRoundTrip()
}

func TestWebSocketClientLimitRespected(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, bigFunctions)
	w := e.dialWS()
	w.c.SetReadLimit(wire.DefaultMaxFrame) // as the client SDK does
	body, _ := proto.Marshal(&gamev1.LoginRequest{Ticket: e.ticket("p1")})
	w.write(&gamev1.Envelope{Kind: gamev1.Kind_KIND_LOGIN, Body: body})
	if got := w.read(); got.Route != "login" {
		t.Fatalf("login answer %v", got)
	}
	w.write(&gamev1.Envelope{Kind: gamev1.Kind_KIND_REQUEST, Seq: 1, Route: "big.get"})
	if got := w.read(); got.ReplyTo != 1 || got.Code != gamemesh.CodeBodyTooLarge {
		t.Fatalf("answer %s", summary(got))
	}
	e.sub.push(t, "p1", "big.push", make([]byte, wire.DefaultMaxFrame))
	w.write(&gamev1.Envelope{Kind: gamev1.Kind_KIND_HEARTBEAT})
	if got := w.read(); got.Kind != gamev1.Kind_KIND_HEARTBEAT {
		t.Fatalf("got %s, want the heartbeat echo", summary(got))
	}
	// (Had the push been sent, the read above would have failed on the
	// client's read limit.)
}

// summary describes env without its body, which may be large.
func summary(env *gamev1.Envelope) string {
	return fmt.Sprintf("%s seq %d reply_to %d route %d bytes %q… code %s error %q body %d bytes",
		env.Kind, env.Seq, env.ReplyTo, len(env.Route), clip(env.Route), env.Code, env.Error, len(env.Body))
}
