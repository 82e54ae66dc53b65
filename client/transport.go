package client

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/wire"
)

// errLocalTooLarge is returned by a transport's write before anything is
// written, when the frame exceeds the connection's maximum frame size.
var errLocalTooLarge = errors.New("client: frame too large")

// transport moves Envelopes over one connection. read is called from one
// goroutine at a time; write is serialised by the caller.
type transport interface {
	read() (*gamev1.Envelope, error)
	write(env *gamev1.Envelope, deadline time.Time) error
	setReadDeadline(t time.Time) error
	// interrupt makes pending and future reads and writes fail at once.
	interrupt()
	close() error
}

// dialTransport connects to addr: "tcp://host:port", "tls://host:port",
// "ws://host:port/path", "wss://host:port/path" or a plain "host:port" (TCP).
func dialTransport(ctx context.Context, addr string, opts *Options) (transport, error) {
	scheme, rest, found := strings.Cut(addr, "://")
	if !found {
		scheme, rest = "tcp", addr
	}
	if rest == "" {
		return nil, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "gate address %q has no host", addr)
	}
	nd := &net.Dialer{}
	if opts.LocalIP != nil {
		nd.LocalAddr = &net.TCPAddr{IP: opts.LocalIP}
	}
	switch scheme {
	case "tcp", "tls":
		var c net.Conn
		var err error
		if scheme == "tls" {
			d := tls.Dialer{NetDialer: nd, Config: opts.TLS}
			c, err = d.DialContext(ctx, "tcp", rest)
		} else {
			c, err = nd.DialContext(ctx, "tcp", rest)
		}
		if err != nil {
			return nil, dialError(ctx, addr, err)
		}
		return &tcpTransport{c: c, r: wire.NewReader(bufio.NewReaderSize(c, 4096), opts.MaxFrame), max: opts.MaxFrame}, nil
	case "ws", "wss":
		d := websocket.Dialer{
			NetDialContext:   nd.DialContext,
			HandshakeTimeout: opts.WriteTimeout,
			TLSClientConfig:  opts.TLS,
			ReadBufferSize:   4096,
			WriteBufferSize:  4096,
		}
		c, resp, err := d.DialContext(ctx, addr, nil)
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		if err != nil {
			if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
				return nil, gamemesh.Wrap(codeFromStatus(resp.StatusCode), err, "gate refused the WebSocket upgrade: "+resp.Status)
			}
			return nil, dialError(ctx, addr, err)
		}
		c.SetReadLimit(int64(opts.MaxFrame))
		return &wsTransport{c: c, max: opts.MaxFrame}, nil
	}
	return nil, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "gate address %q: scheme must be tcp, tls, ws or wss", addr)
}

func dialError(ctx context.Context, addr string, err error) error {
	if ctx.Err() != nil {
		return gamemesh.Wrap(gamemesh.CodeOf(ctx.Err()), err, "dialling "+addr)
	}
	return gamemesh.Wrap(gamemesh.CodeUnavailable, err, "gate "+addr+" unreachable")
}

// tcpTransport is length-prefixed frames on a stream (package wire).
type tcpTransport struct {
	c   net.Conn
	r   *wire.Reader
	max int
	buf []byte // write buffer, guarded by the caller's write serialisation
}

func (t *tcpTransport) read() (*gamev1.Envelope, error) { return t.r.Read() }

func (t *tcpTransport) write(env *gamev1.Envelope, deadline time.Time) error {
	b, err := wire.Append(t.buf[:0], env)
	if err != nil {
		return err
	}
	if len(b)-wire.HeaderLen > t.max {
		return errLocalTooLarge
	}
	if cap(b) <= 64<<10 {
		t.buf = b
	}
	if err := t.c.SetWriteDeadline(deadline); err != nil {
		return err
	}
	_, err = t.c.Write(b)
	return err
}

func (t *tcpTransport) setReadDeadline(d time.Time) error { return t.c.SetReadDeadline(d) }
func (t *tcpTransport) interrupt()                        { _ = t.c.SetDeadline(time.Unix(1, 0)) }
func (t *tcpTransport) close() error                      { return t.c.Close() }

// wsTransport is one binary WebSocket message per Envelope.
type wsTransport struct {
	c   *websocket.Conn
	max int
}

func (t *wsTransport) read() (*gamev1.Envelope, error) {
	mt, b, err := t.c.ReadMessage()
	if err != nil {
		return nil, err
	}
	if mt != websocket.BinaryMessage {
		return nil, gamemesh.Errorf(gamemesh.CodeProtocol, "gate sent a non-binary WebSocket message")
	}
	return wire.Decode(b)
}

func (t *wsTransport) write(env *gamev1.Envelope, deadline time.Time) error {
	b, err := proto.Marshal(env)
	if err != nil {
		return err
	}
	if len(b) > t.max {
		return errLocalTooLarge
	}
	if err := t.c.SetWriteDeadline(deadline); err != nil {
		return err
	}
	return t.c.WriteMessage(websocket.BinaryMessage, b)
}

func (t *wsTransport) setReadDeadline(d time.Time) error { return t.c.SetReadDeadline(d) }
func (t *wsTransport) interrupt()                        { _ = t.c.NetConn().SetDeadline(time.Unix(1, 0)) }

func (t *wsTransport) close() error {
	// Best effort: tell the gate we are going; the socket closes regardless.
	_ = t.c.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(100*time.Millisecond))
	return t.c.Close()
}
