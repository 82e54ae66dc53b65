package gate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/gorilla/websocket"

	"github.com/gamemesh/gamemesh/wire"
)

var (
	errTextMessage = errors.New("gate: websocket text message")
	errWSTooLarge  = errors.New("gate: websocket message too large")
)

// transport is one client connection's framing. The read loop reads frames
// through it; the outbox frames encoded envelopes with it, so that a batch of
// frames is one Write on the raw connection, which also takes deadlines and
// Close directly.
type transport interface {
	// readFrame returns the next frame's bytes, valid until the next call.
	// Buffers are pooled: none is held while the connection waits for input.
	readFrame() ([]byte, error)
	// hasFrame reports whether readFrame would return without waiting.
	hasFrame() bool
	// appendHeader appends the framing that precedes a payload of n bytes.
	appendHeader(dst []byte, n int) []byte
	// appendGoodbye appends what closes the stream after a final frame.
	appendGoodbye(dst []byte) []byte
	// raw is the underlying connection.
	raw() net.Conn
	// release gives back the read buffers once reading has stopped.
	release()
}

// newTCPTransport frames c with 4-byte big-endian lengths (package wire).
// A plain TCP connection is read straight from its file descriptor, with a
// pooled buffer only while bytes wait; others (TLS) through a small header
// read and a pooled body.
func newTCPTransport(c net.Conn, maxFrame int) transport {
	if sc, ok := c.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			return &tcpTransport{c: c, fd: rc, max: maxFrame}
		}
	}
	return &streamTransport{c: c, max: maxFrame}
}

// tcpTransport reads with RawConn.Read: the pooled chunk is taken when the
// socket is readable and given back when a read would block with nothing
// buffered, so an idle connection parks holding no buffer.
type tcpTransport struct {
	c    net.Conn
	fd   syscall.RawConn
	max  int
	buf  *buffer // nil while nothing is buffered
	r, w int     // unread bytes are buf.b[r:w]
}

func (t *tcpTransport) readFrame() ([]byte, error) {
	for {
		if t.w-t.r >= wire.HeaderLen {
			n := int(binary.BigEndian.Uint32(t.buf.b[t.r:]))
			if n > t.max {
				return nil, fmt.Errorf("%w: %d bytes, limit %d", wire.ErrFrameTooLarge, n, t.max)
			}
			if end := t.r + wire.HeaderLen + n; end <= t.w {
				p := t.buf.b[t.r+wire.HeaderLen : end]
				t.r = end
				return p, nil
			}
			t.reserve(wire.HeaderLen + n)
		}
		if err := t.fill(); err != nil {
			if errors.Is(err, io.EOF) && t.w > t.r {
				err = wire.ErrTruncated
			}
			return nil, err
		}
	}
}

// reserve makes room for a frame of need bytes starting at t.r: the unread
// bytes move to the front of the buffer, or to a larger pooled one.
func (t *tcpTransport) reserve(need int) {
	if need <= cap(t.buf.b)-t.r {
		return
	}
	nb := t.buf
	if need > cap(t.buf.b) {
		nb = getBuf(need)
		nb.b = nb.b[:cap(nb.b)]
	}
	n := copy(nb.b, t.buf.b[t.r:t.w])
	if nb != t.buf {
		putBuf(t.buf)
		t.buf = nb
	}
	t.r, t.w = 0, n
}

// fill reads what the socket has, waiting until it is readable.
func (t *tcpTransport) fill() error {
	if t.r == t.w && t.buf != nil && cap(t.buf.b) > chunkSize {
		// A large frame was handled: its buffer goes back at once.
		putBuf(t.buf)
		t.buf = nil
	}
	if t.r == t.w {
		t.r, t.w = 0, 0
	} else if t.w == len(t.buf.b) {
		t.w = copy(t.buf.b, t.buf.b[t.r:t.w]) // a partial header at the very end
		t.r = 0
	}
	var n int
	var rerr error
	err := t.fd.Read(func(fd uintptr) bool {
		if t.buf == nil {
			t.buf = getBuf(chunkSize)
			t.buf.b = t.buf.b[:cap(t.buf.b)] // held buffers are used whole
		}
		b := t.buf.b
		for {
			n, rerr = syscall.Read(int(fd), b[t.w:])
			if rerr != syscall.EINTR {
				break
			}
		}
		if rerr == syscall.EAGAIN {
			if t.r == t.w {
				putBuf(t.buf) // idle: park without a buffer
				t.buf = nil
				t.r, t.w = 0, 0
			}
			return false
		}
		return true
	})
	switch {
	case err != nil:
		return err
	case rerr != nil:
		return &net.OpError{Op: "read", Net: "tcp", Err: rerr}
	case n <= 0:
		return io.EOF
	}
	t.w += n
	return nil
}

func (t *tcpTransport) hasFrame() bool {
	return t.w-t.r >= wire.HeaderLen && t.w-t.r-wire.HeaderLen >= int(binary.BigEndian.Uint32(t.buf.b[t.r:]))
}

func (t *tcpTransport) appendHeader(dst []byte, n int) []byte {
	return binary.BigEndian.AppendUint32(dst, uint32(n))
}

func (t *tcpTransport) appendGoodbye(dst []byte) []byte { return dst }
func (t *tcpTransport) raw() net.Conn                   { return t.c }

func (t *tcpTransport) release() {
	putBuf(t.buf)
	t.buf = nil
	t.r, t.w = 0, 0
}

// streamTransport reads length-prefixed frames from any stream (TLS): the
// 4-byte header into the transport itself, the body into a pooled buffer
// given back at the next read.
type streamTransport struct {
	c   net.Conn
	max int
	hdr [wire.HeaderLen]byte
	buf *buffer
}

func (t *streamTransport) readFrame() ([]byte, error) {
	putBuf(t.buf)
	t.buf = nil
	if _, err := io.ReadFull(t.c, t.hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, wire.ErrTruncated
		}
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(t.hdr[:]))
	if n > t.max {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", wire.ErrFrameTooLarge, n, t.max)
	}
	t.buf = getBuf(n)
	b := t.buf.b[:n]
	if _, err := io.ReadFull(t.c, b); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, wire.ErrTruncated
		}
		return nil, err
	}
	return b, nil
}

func (t *streamTransport) hasFrame() bool { return false }

func (t *streamTransport) appendHeader(dst []byte, n int) []byte {
	return binary.BigEndian.AppendUint32(dst, uint32(n))
}

func (t *streamTransport) appendGoodbye(dst []byte) []byte { return dst }
func (t *streamTransport) raw() net.Conn                   { return t.c }

func (t *streamTransport) release() {
	putBuf(t.buf)
	t.buf = nil
}

// wsTransport reads through gorilla/websocket (which enforces the read limit)
// and frames server messages itself: unmasked binary frames appended to the
// batch buffer, so a batch is one Write like on TCP. Pings are answered by
// the session (see onPing) through its outbox, not by gorilla: gorilla's
// pong is a concurrent Write that also moves the connection's write deadline
// under a batch. Gorilla still answers a client's close frame itself; that is
// a whole Write on the same net.Conn, which Go serialises (it never
// interleaves with a batch), and the session ends right after it anyway.
type wsTransport struct {
	c   *websocket.Conn
	buf *buffer
	max int
}

func newWSTransport(c *websocket.Conn, maxFrame int) *wsTransport {
	c.SetReadLimit(int64(maxFrame))
	return &wsTransport{c: c, max: maxFrame}
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

// WebSocket opcodes (RFC 6455 §5.2).
const (
	wsOpBinary = 0x2
	wsOpClose  = 0x8
	wsOpPong   = 0xA
)

func appendWSHeader(dst []byte, opcode byte, n int) []byte {
	dst = append(dst, 0x80|opcode) // FIN, no extension bits, server frames are not masked
	switch {
	case n < 126:
		return append(dst, byte(n))
	case n <= 0xFFFF:
		return binary.BigEndian.AppendUint16(append(dst, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(dst, 127), uint64(n))
	}
}

func (t *wsTransport) hasFrame() bool { return false }

func (t *wsTransport) appendHeader(dst []byte, n int) []byte {
	return appendWSHeader(dst, wsOpBinary, n)
}

// wsPong appends a pong frame carrying data (at most 125 bytes, as gorilla
// guarantees for a ping's payload).
func wsPong(dst []byte, data string) []byte {
	return append(appendWSHeader(dst, wsOpPong, len(data)), data...)
}

// appendGoodbye appends a close frame with status 1000 (normal closure).
func (t *wsTransport) appendGoodbye(dst []byte) []byte {
	dst = appendWSHeader(dst, wsOpClose, 2)
	return binary.BigEndian.AppendUint16(dst, websocket.CloseNormalClosure)
}

func (t *wsTransport) raw() net.Conn { return t.c.NetConn() }

func (t *wsTransport) release() {
	putBuf(t.buf)
	t.buf = nil
}
