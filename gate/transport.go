package gate

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"

	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/wire"
)

// tcpReadBuffer is the read buffer of a TCP connection: pipelined small frames
// are read with one syscall.
const tcpReadBuffer = 4 << 10

var (
	errTextMessage = errors.New("gate: websocket text message")
	errWSTooLarge  = errors.New("gate: websocket message too large")
)

// transport is one client connection's framing. The session reads frames
// through it and encodes frames with it; writes, deadlines and close go to
// the raw connection directly, so a batch of frames is one Write.
type transport interface {
	// readFrame returns the next frame's bytes, valid until the next call.
	readFrame() ([]byte, error)
	// appendFrame appends env encoded as one frame; size is proto.Size(env),
	// computed just before (the encoding reuses it).
	appendFrame(dst []byte, env *gamev1.Envelope, size int) ([]byte, error)
	// appendGoodbye appends what closes the stream after a final frame.
	appendGoodbye(dst []byte) []byte
	// raw is the underlying connection.
	raw() net.Conn
}

// tcpTransport frames with a 4-byte big-endian length (package wire).
type tcpTransport struct {
	c net.Conn
	r *wire.Reader
}

func newTCPTransport(c net.Conn, maxFrame int) *tcpTransport {
	return &tcpTransport{c: c, r: wire.NewReader(bufio.NewReaderSize(c, tcpReadBuffer), maxFrame)}
}

func (t *tcpTransport) readFrame() ([]byte, error) { return t.r.ReadRaw() }

func (t *tcpTransport) appendFrame(dst []byte, env *gamev1.Envelope, size int) ([]byte, error) {
	start := len(dst)
	dst, err := appendEnvelope(binary.BigEndian.AppendUint32(dst, uint32(size)), env, size)
	if err != nil {
		return dst[:start], err
	}
	return dst, nil
}

// appendEnvelope appends env marshalled with the size cached by the
// proto.Size call that returned size, and checks it has that size.
func appendEnvelope(dst []byte, env *gamev1.Envelope, size int) ([]byte, error) {
	start := len(dst)
	dst, err := proto.MarshalOptions{UseCachedSize: true}.MarshalAppend(dst, env)
	if err != nil {
		return dst[:start], fmt.Errorf("gate: encoding frame: %w", err)
	}
	if n := len(dst) - start; n != size {
		return dst[:start], fmt.Errorf("gate: encoding frame: %d bytes, sized %d", n, size)
	}
	return dst, nil
}

func (t *tcpTransport) appendGoodbye(dst []byte) []byte { return dst }

func (t *tcpTransport) raw() net.Conn { return t.c }

// wsTransport reads through gorilla/websocket (which enforces the read limit)
// and writes server frames itself: unmasked binary frames appended to the
// batch buffer, so a batch is one Write like on TCP. Pings are answered by
// the session (see onPing) through its write loop, not by gorilla: gorilla's
// pong is a concurrent Write that also moves the connection's write deadline
// under the write loop. Gorilla still answers a client's close frame itself;
// that is a whole Write on the same net.Conn, which Go serialises (it never
// interleaves with a batch), and the session ends right after it anyway.
type wsTransport struct {
	c   *websocket.Conn
	buf []byte
	max int
}

func newWSTransport(c *websocket.Conn, maxFrame int) *wsTransport {
	c.SetReadLimit(int64(maxFrame))
	return &wsTransport{c: c, max: maxFrame}
}

func (t *wsTransport) readFrame() ([]byte, error) {
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
	buf := t.buf[:0]
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				return nil, fmt.Errorf("%w: limit %d", errWSTooLarge, t.max)
			}
			return nil, err
		}
	}
	t.buf = buf
	return buf, nil
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

func (t *wsTransport) appendFrame(dst []byte, env *gamev1.Envelope, size int) ([]byte, error) {
	start := len(dst)
	dst, err := appendEnvelope(appendWSHeader(dst, wsOpBinary, size), env, size)
	if err != nil {
		return dst[:start], err
	}
	return dst, nil
}

// wsPong returns a pong frame carrying data (at most 125 bytes, as gorilla
// guarantees for a ping's payload).
func wsPong(data string) []byte {
	return append(appendWSHeader(make([]byte, 0, 2+len(data)), wsOpPong, len(data)), data...)
}

// appendGoodbye appends a close frame with status 1000 (normal closure).
func (t *wsTransport) appendGoodbye(dst []byte) []byte {
	dst = appendWSHeader(dst, wsOpClose, 2)
	return binary.BigEndian.AppendUint16(dst, websocket.CloseNormalClosure)
}

func (t *wsTransport) raw() net.Conn { return t.c.NetConn() }
