package gate

import (
	"crypto/tls"
	"errors"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// wsRaw writes frames on w's connection as they are, behind gorilla's back.
func (w *wsClient) wsRaw(b []byte) {
	w.t.Helper()
	if _, err := w.c.NetConn().Write(b); err != nil {
		w.t.Fatal(err)
	}
}

// expectCloseCode asserts the next thing the gate sends is a close with code.
func (w *wsClient) expectCloseCode(code int) {
	w.t.Helper()
	_ = w.c.SetReadDeadline(time.Now().Add(ioWait))
	_, _, err := w.c.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != code {
		w.t.Fatalf("got %v, want close %d", err, code)
	}
}

func marshalEnv(t testing.TB, env *gamev1.Envelope) []byte {
	b, err := proto.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (e *env) wsLoginFrame(player gamemesh.PlayerID) []byte {
	body, _ := proto.Marshal(&gamev1.LoginRequest{Ticket: e.ticket(player)})
	return marshalEnv(e.t, &gamev1.Envelope{Kind: gamev1.Kind_KIND_LOGIN, Body: body})
}

func TestWebSocketFragmentedLoginWithPing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	w := e.dialWS()
	pong := make(chan string, 1)
	w.c.SetPongHandler(func(p string) error { pong <- p; return nil })
	login := string(e.wsLoginFrame("p1"))
	w.wsRaw(join(frag(login[:3]), ctl(wsOpPing, []byte("mid")), cont(login[3:10], false), cont(login[10:], true)))
	if got := w.read(); got.Kind != gamev1.Kind_KIND_RESPONSE || got.Route != "login" || got.Code != gamemesh.CodeOK {
		t.Fatalf("login answer %v", got)
	}
	select {
	case p := <-pong:
		if p != "mid" {
			t.Fatalf("pong %q", p)
		}
	default:
		t.Fatal("no pong before the login answer")
	}
}

// TestWebSocketPipelined sends requests in one write, on ws and wss: each is
// answered, in order (the gate sees they are buffered and answers together).
func TestWebSocketPipelined(t *testing.T) {
	t.Parallel()
	for _, secure := range []bool{false, true} {
		t.Run(map[bool]string{false: "ws", true: "wss"}[secure], func(t *testing.T) {
			t.Parallel()
			var cli *tls.Config
			e := newEnv(t, func(c *Config) {
				if secure {
					c.TLS, cli = selfSigned(t)
				}
			}, nil)
			w, _ := dialWSWith(t, &websocket.Dialer{TLSClientConfig: cli}, e.g.WSURL())
			var in []byte
			in = append(in, bin(string(e.wsLoginFrame("p1"))).bytes()...)
			for seq := uint64(1); seq <= 5; seq++ {
				in = append(in, bin(string(marshalEnv(t, &gamev1.Envelope{Kind: gamev1.Kind_KIND_REQUEST, Seq: seq, Route: "echo.echo", Body: []byte{byte(seq)}}))).bytes()...)
			}
			w.wsRaw(in) // one write: on wss, one TLS record
			if got := w.read(); got.Route != "login" || got.Code != gamemesh.CodeOK {
				t.Fatalf("login answer %v", got)
			}
			for seq := uint64(1); seq <= 5; seq++ {
				if got := w.read(); got.ReplyTo != seq || len(got.Body) != 1 || got.Body[0] != byte(seq) {
					t.Fatalf("answer %d: %v", seq, got)
				}
			}
		})
	}
}

func TestWebSocketProtocolErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		frame []byte
		code  int
	}{
		{"unmasked", cframe{fin: true, op: wsOpBinary, p: []byte("x")}.bytes(), websocket.CloseProtocolError},
		{"rsv1 without permessage-deflate", cframe{fin: true, rsv: 0x40, op: wsOpBinary, masked: true, p: []byte("x")}.bytes(), websocket.CloseProtocolError},
		{"continuation first", cont("x", true).bytes(), websocket.CloseProtocolError},
		{"oversize once reassembled", join(frag(string(make([]byte, 1500))), cont(string(make([]byte, 1500)), true)), websocket.CloseMessageTooBig},
		{"client close", ctl(wsOpClose, closePayload(websocket.CloseGoingAway, "bye")).bytes(), websocket.CloseGoingAway},
	}
	e := newEnv(t, func(c *Config) { c.MaxFrameSize = 2048 }, nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := within(t, e).dialWS()
			w.wsRaw(tc.frame)
			w.expectCloseCode(tc.code)
		})
	}
}
