package gate

import (
	"errors"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/gamemesh/gamemesh/wire"
)

// wsCloseWait bounds the write of a close frame the reader sends itself.
const wsCloseWait = time.Second

// wsConnTransport reads a plain-TCP WebSocket connection's client frames
// straight from its file descriptor like tcpTransport (a pooled chunk only
// while bytes wait, none while idle), after gorilla's handshake. An
// unfragmented message is returned in place; a fragmented one is reassembled
// in a pooled buffer of at most max bytes, with control frames between its
// fragments. Pings go to onPing (the session queues the pong with its
// batches); a client's close is echoed and ends the connection; a frame
// breaking RFC 6455 is answered with close 1002 (1009 for a message over
// max, 1007 for a close reason that is not UTF-8), written directly on the
// connection as gorilla does (a whole Write, never interleaved with a
// batch, and the session ends right after it). Server frames are framed
// like wsTransport's.
type wsConnTransport struct {
	tcpTransport
	onPing func(string) error
	msg    *buffer // the fragmented message being reassembled, or the last one returned
	inMsg  bool    // msg is still being reassembled
	closed bool    // a close frame was sent
}

// newWSConnTransport reads c itself, or returns nil if c has no file
// descriptor (TLS).
func newWSConnTransport(c net.Conn, maxFrame int, onPing func(string) error) *wsConnTransport {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return &wsConnTransport{tcpTransport: tcpTransport{c: c, fd: rc, max: maxFrame}, onPing: onPing}
}

func (t *wsConnTransport) readFrame() ([]byte, error) {
	if !t.inMsg && t.msg != nil {
		putBuf(t.msg) // the message returned last time
		t.msg = nil
	}
	for {
		if t.w > t.r {
			f, err := parseWSFrame(t.buf.b[t.r:t.w], t.max)
			if err != nil {
				return nil, t.fail(err)
			}
			if f.hdr > 0 {
				if end := t.r + f.hdr + f.n; end <= t.w {
					p := t.buf.b[t.r+f.hdr : end]
					t.r = end
					wsUnmask(p, f.key)
					if b, done, err := t.frame(f, p); done || err != nil {
						return b, err
					}
					continue
				}
				t.reserve(f.hdr + f.n)
			}
		}
		if err := t.fill(); err != nil {
			if errors.Is(err, io.EOF) && (t.w > t.r || t.inMsg) {
				err = wire.ErrTruncated
			}
			return nil, err
		}
	}
}

// frame handles a whole unmasked frame: done with a message to return, or
// an error ending the connection, or neither (read on).
func (t *wsConnTransport) frame(f wsFrame, p []byte) (b []byte, done bool, err error) {
	switch f.op {
	case wsOpPing:
		return nil, false, t.onPing(string(p))
	case wsOpPong:
		return nil, false, nil
	case wsOpClose:
		code, err := wsCloseReply(p)
		if err != nil {
			return nil, false, t.fail(err)
		}
		t.writeClose(code)
		return nil, false, io.EOF
	case wsOpText, wsOpBinary:
		switch {
		case t.inMsg:
			return nil, false, t.fail(wsProtocolError("a new message inside a fragmented one"))
		case f.op == wsOpText:
			return nil, false, errTextMessage
		case f.fin:
			return p, true, nil
		}
		t.inMsg = true
		t.msg = getBuf(len(p))
		t.msg.b = append(t.msg.b, p...)
		return nil, false, nil
	}
	// A continuation.
	if !t.inMsg {
		return nil, false, t.fail(wsProtocolError("a continuation frame outside a fragmented message"))
	}
	n := len(t.msg.b) + len(p)
	if n > t.max {
		return nil, false, t.fail(&wsError{code: websocket.CloseMessageTooBig, msg: "fragmented message over the limit"})
	}
	if n > cap(t.msg.b) {
		nb := getBuf(n)
		nb.b = append(nb.b, t.msg.b...)
		putBuf(t.msg)
		t.msg = nb
	}
	t.msg.b = append(t.msg.b, p...)
	if !f.fin {
		return nil, false, nil
	}
	t.inMsg = false
	return t.msg.b, true, nil
}

// fail answers a refused frame with its close code and returns err.
func (t *wsConnTransport) fail(err error) error {
	var we *wsError
	if errors.As(err, &we) {
		t.writeClose(we.code)
	}
	return err
}

// writeClose sends a close frame once, as gorilla's reader does: its own
// short write deadline (a batch being written meanwhile may end sooner; the
// session ends right after anyway).
func (t *wsConnTransport) writeClose(code int) {
	if t.closed {
		return
	}
	t.closed = true
	var b [4]byte
	_ = t.c.SetWriteDeadline(time.Now().Add(wsCloseWait))
	_, _ = t.c.Write(appendWSClose(b[:0], code))
}

// hasFrame reports whether a whole unfragmented binary message is buffered
// next (readFrame returns it without reading). Anything else reports false,
// a control frame too: readFrame might wait for input after it. Between
// calls of readFrame no fragmented message is in progress.
func (t *wsConnTransport) hasFrame() bool {
	return t.w-t.r >= 2 && !t.inMsg && wsWholeMessage(t.buf.b[t.r:t.w], t.max) && t.buf.b[t.r]&0x0F == wsOpBinary
}

func (t *wsConnTransport) appendHeader(dst []byte, n int) []byte {
	return appendWSHeader(dst, wsOpBinary, n)
}

// appendGoodbye appends a close frame with status 1000 (normal closure).
func (t *wsConnTransport) appendGoodbye(dst []byte) []byte {
	return appendWSClose(dst, websocket.CloseNormalClosure)
}

func (t *wsConnTransport) release() {
	t.tcpTransport.release()
	putBuf(t.msg)
	t.msg, t.inMsg = nil, false
}
