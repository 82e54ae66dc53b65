package gate

import (
	"bytes"
	"compress/flate"
	"context"
	"io"
	"testing"

	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// TestWebSocketBodyCompression checks the body compression negotiated at
// login over the gate's own WebSocket reader: a large answer arrives
// compressed, and a compressed request sent in fragments is inflated. (The
// gate negotiates no permessage-deflate: compression lives in envelopes.)
func TestWebSocketBodyCompression(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte("gamemesh "), 1000)
	e := newEnv(t, func(c *Config) { c.CompressMin = 512; c.MaxFrameSize = 16 << 10 }, func(r *functions.Registry) {
		r.Handle("big", "get", functions.Method{Public: true, Handler: func(context.Context, gamemesh.Request) ([]byte, error) {
			return big, nil
		}})
		r.Handle("big", "len", functions.Method{Public: true, MaxBody: 1 << 20, Handler: func(_ context.Context, req gamemesh.Request) ([]byte, error) {
			return []byte{byte(len(req.Body) >> 8), byte(len(req.Body))}, nil
		}})
	})
	// A client offering permessage-deflate is answered without it, so RSV1
	// stays refused (see TestWebSocketProtocolErrors).
	w, resp := dialWSWith(t, &websocket.Dialer{EnableCompression: true}, e.g.WSURL())
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
		t.Fatalf("negotiated %q", ext)
	}
	body, _ := proto.Marshal(&gamev1.LoginRequest{Ticket: e.ticket("p1"), Compression: []string{CompressDeflate}})
	w.write(&gamev1.Envelope{Kind: gamev1.Kind_KIND_LOGIN, Body: body})
	var lr gamev1.LoginResponse
	if got := w.read(); proto.Unmarshal(got.Body, &lr) != nil || lr.Compression != CompressDeflate {
		t.Fatalf("login %v", got)
	}
	w.write(&gamev1.Envelope{Kind: gamev1.Kind_KIND_REQUEST, Seq: 1, Route: "big.get"})
	r := w.read()
	if !r.Compressed {
		t.Fatal("answer not compressed")
	}
	if got, err := io.ReadAll(flate.NewReader(bytes.NewReader(r.Body))); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("inflated %d bytes, %v", len(got), err)
	}
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestSpeed)
	_, _ = fw.Write(big)
	_ = fw.Close()
	req := string(marshalEnv(t, &gamev1.Envelope{Kind: gamev1.Kind_KIND_REQUEST, Seq: 2, Route: "big.len", Body: buf.Bytes(), Compressed: true}))
	w.wsRaw(join(frag(req[:10]), cont(req[10:], true)))
	if r := w.read(); r.ReplyTo != 2 || len(r.Body) != 2 || int(r.Body[0])<<8|int(r.Body[1]) != len(big) {
		t.Fatalf("answer %v", r)
	}
}
