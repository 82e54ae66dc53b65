package gate

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/gorilla/websocket"
)

// wsTransport reads WebSocket connections that are not plain TCP (wss)
// through gorilla/websocket (which enforces the read limit); plain ones are
// read by wsConnTransport. It frames server messages itself: unmasked binary frames appended to the
// batch buffer, so a batch is one Write like on TCP. Pings are answered by
// the session (see onPing) through its outbox, not by gorilla: gorilla's
// pong is a concurrent Write that also moves the connection's write deadline
// under a batch. Gorilla still answers a client's close frame itself; that is
// a whole Write on the same net.Conn, which Go serialises (it never
// interleaves with a batch), and the session ends right after it anyway.
type wsTransport struct {
	c   *websocket.Conn
	br  *bufio.Reader // gorilla's read buffer, nil if unknown
	buf *buffer
	max int
}

func newWSTransport(c *websocket.Conn, br *bufio.Reader, maxFrame int, onPing func(string) error) *wsTransport {
	c.SetReadLimit(int64(maxFrame))
	c.SetPingHandler(onPing)
	return &wsTransport{c: c, br: br, max: maxFrame}
}

func (t *wsTransport) readFrame() ([]byte, error) {
	putBuf(t.buf)
	t.buf = nil
	typ, r, err := t.c.NextReader()
	if err != nil {
		if errors.Is(err, websocket.ErrReadLimit) {
			return nil, fmt.Errorf("%w: limit %d", errWSTooLarge, t.max)
		}
		return nil, err
	}
	if typ != websocket.BinaryMessage {
		return nil, errTextMessage
	}
	t.buf = getBuf(chunkSize)
	for {
		b := t.buf.b
		if len(b) == cap(b) {
			nb := getBuf(2 * cap(b))
			nb.b = append(nb.b, b...)
			putBuf(t.buf)
			t.buf, b = nb, nb.b
		}
		n, err := r.Read(b[len(b):cap(b)])
		t.buf.b = b[:len(b)+n]
		if errors.Is(err, io.EOF) {
			return t.buf.b, nil
		}
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				return nil, fmt.Errorf("%w: limit %d", errWSTooLarge, t.max)
			}
			return nil, err
		}
	}
}

// hasFrame reports whether a whole unfragmented data message waits in
// gorilla's read buffer (the hijacked one, see wsHijacker), which gorilla's
// reader returns without reading the connection.
func (t *wsTransport) hasFrame() bool {
	if t.br == nil || t.br.Buffered() < 2 {
		return false
	}
	p, _ := t.br.Peek(t.br.Buffered())
	return wsWholeMessage(p, t.max)
}

func (t *wsTransport) appendHeader(dst []byte, n int) []byte {
	return appendWSHeader(dst, wsOpBinary, n)
}

// appendGoodbye appends a close frame with status 1000 (normal closure).
func (t *wsTransport) appendGoodbye(dst []byte) []byte {
	return appendWSClose(dst, websocket.CloseNormalClosure)
}

func (t *wsTransport) raw() net.Conn { return t.c.NetConn() }

func (t *wsTransport) release() {
	putBuf(t.buf)
	t.buf = nil
}
