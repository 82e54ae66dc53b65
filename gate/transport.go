package gate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

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
