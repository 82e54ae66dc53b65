package gate

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/wire"
)

type wsClient struct {
	t testing.TB
	c *websocket.Conn
}

func (e *env) dialWS() *wsClient {
	e.t.Helper()
	w, _ := dialWSWith(e.t, websocket.DefaultDialer, e.g.WSURL())
	return w
}

// dialWSWith dials url with d and returns the client and the handshake's
// response (its body closed); t's cleanup closes the connection.
func dialWSWith(t testing.TB, d *websocket.Dialer, url string) (*wsClient, *http.Response) {
	t.Helper()
	c, resp, err := d.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	t.Cleanup(func() { _ = c.Close() })
	return &wsClient{t: t, c: c}, resp
}

func (w *wsClient) write(env *gamev1.Envelope) {
	w.t.Helper()
	b, err := proto.Marshal(env)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.c.WriteMessage(websocket.BinaryMessage, b); err != nil {
		w.t.Fatal(err)
	}
}

func (w *wsClient) read() *gamev1.Envelope {
	w.t.Helper()
	_ = w.c.SetReadDeadline(time.Now().Add(ioWait))
	typ, b, err := w.c.ReadMessage()
	if err != nil {
		w.t.Fatalf("read: %v", err)
	}
	if typ != websocket.BinaryMessage {
		w.t.Fatalf("message type %d", typ)
	}
	env, err := wire.Decode(b)
	if err != nil {
		w.t.Fatal(err)
	}
	return env
}

// expectClose asserts the next thing the gate sends is a normal close.
func (w *wsClient) expectClose() {
	w.t.Helper()
	_ = w.c.SetReadDeadline(time.Now().Add(ioWait))
	_, _, err := w.c.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseNormalClosure {
		w.t.Fatalf("got %v, want a normal close", err)
	}
}

func TestWebSocketLoginRequestPush(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.MaxOutFrame = 1 << 20 }, nil) // room for a push over 64 KiB
	w := e.dialWS()
	body, _ := proto.Marshal(&gamev1.LoginRequest{Ticket: e.ticket("p1")})
	w.write(&gamev1.Envelope{Kind: gamev1.Kind_KIND_LOGIN, Body: body})
	got := w.read()
	var resp gamev1.LoginResponse
	if got.Kind != gamev1.Kind_KIND_RESPONSE || got.Route != "login" || got.Seq != 1 || proto.Unmarshal(got.Body, &resp) != nil || resp.PlayerId != "p1" {
		t.Fatalf("login answer %v", got)
	}

	w.write(&gamev1.Envelope{Kind: gamev1.Kind_KIND_REQUEST, Seq: 1, Route: "echo.echo", Body: []byte("over ws")})
	if got := w.read(); got.Kind != gamev1.Kind_KIND_RESPONSE || got.ReplyTo != 1 || string(got.Body) != "over ws" || got.Seq != 2 {
		t.Fatalf("response %v", got)
	}
	big := make([]byte, 70_000) // a frame with a 64-bit length header
	e.sub.push(t, "p1", "mail.new", big)
	if got := w.read(); got.Kind != gamev1.Kind_KIND_PUSH || got.Route != "mail.new" || len(got.Body) != len(big) {
		t.Fatalf("push %v", got.Kind)
	}
	w.write(&gamev1.Envelope{Kind: gamev1.Kind_KIND_HEARTBEAT})
	if got := w.read(); got.Kind != gamev1.Kind_KIND_HEARTBEAT {
		t.Fatalf("heartbeat %v", got)
	}
	// Pings are answered (by gorilla) without disturbing the frame stream.
	if err := w.c.WriteControl(websocket.PingMessage, []byte("p"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	e.g.Kick("p1", gamemesh.CodeKicked, "bye")
	if got := w.read(); got.Kind != gamev1.Kind_KIND_KICK || got.Code != gamemesh.CodeKicked {
		t.Fatalf("kick %v", got)
	}
	w.expectClose()
}

func TestWebSocketTextRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	w := e.dialWS()
	if err := w.c.WriteMessage(websocket.TextMessage, []byte(`{"kind":"login"}`)); err != nil {
		t.Fatal(err)
	}
	if got := w.read(); got.Kind != gamev1.Kind_KIND_KICK || got.Code != gamemesh.CodeProtocol {
		t.Fatalf("got %v, want KICK PROTOCOL", got)
	}
	w.expectClose()
}

func TestWebSocketOversizeRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.MaxFrameSize = 2048 }, nil)
	w := e.dialWS()
	if err := w.c.WriteMessage(websocket.BinaryMessage, make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	_ = w.c.SetReadDeadline(time.Now().Add(ioWait))
	_, _, err := w.c.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseMessageTooBig {
		t.Fatalf("got %v, want close 1009", err)
	}
}

func TestWebSocketUpgradeOnlyOnGet(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	resp, err := http.Get("http://" + e.g.HTTPAddr() + "/ws") // no upgrade headers
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d", resp.StatusCode)
	}
}
