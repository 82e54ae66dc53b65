package gate

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// WebSocket frames a client sends (RFC 6455 §5): the gate negotiates no
// extension, so RSV bits must be clear, and client frames must be masked.

// WebSocket opcodes (RFC 6455 §5.2).
const (
	wsOpContinuation = 0x0
	wsOpText         = 0x1
	wsOpBinary       = 0x2
	wsOpClose        = 0x8
	wsOpPing         = 0x9
	wsOpPong         = 0xA
)

// wsMaxControl is the largest control frame payload (RFC 6455 §5.5).
const wsMaxControl = 125

// wsFrame is a client frame's header.
type wsFrame struct {
	fin bool
	op  byte
	hdr int // header bytes, the masking key included; 0 while incomplete
	n   int // payload bytes
	key [4]byte
}

// wsError is a client frame the gate refuses, with the close code it
// answers with.
type wsError struct {
	code int
	msg  string
}

func (e *wsError) Error() string { return fmt.Sprintf("gate: websocket: %s (close %d)", e.msg, e.code) }

// Unwrap makes an oversize message errWSTooLarge.
func (e *wsError) Unwrap() error {
	if e.code == websocket.CloseMessageTooBig {
		return errWSTooLarge
	}
	return nil
}

func wsProtocolError(msg string) error { return &wsError{code: websocket.CloseProtocolError, msg: msg} }

// parseWSFrame parses the frame header at the start of p, refusing what a
// server must not accept and data frames whose payload exceeds max. A nil
// error with f.hdr 0 means more bytes are needed; the frame is complete once
// len(p) >= f.hdr+f.n. It never reads past p.
func parseWSFrame(p []byte, max int) (f wsFrame, err error) {
	if len(p) < 2 {
		return f, nil
	}
	b0, b1 := p[0], p[1]
	if b0&0x70 != 0 {
		return f, wsProtocolError("reserved bits set without an extension")
	}
	f.fin, f.op = b0&0x80 != 0, b0&0x0F
	switch f.op {
	case wsOpContinuation, wsOpText, wsOpBinary:
	case wsOpClose, wsOpPing, wsOpPong:
		if !f.fin {
			return f, wsProtocolError("fragmented control frame")
		}
		if b1&0x7F > wsMaxControl {
			return f, wsProtocolError("control frame over 125 bytes")
		}
	default:
		return f, wsProtocolError(fmt.Sprintf("unknown opcode %#x", f.op))
	}
	if b1&0x80 == 0 {
		return f, wsProtocolError("unmasked client frame")
	}
	hdr := 2
	var n uint64
	switch l := b1 & 0x7F; l {
	case 126:
		if len(p) < 4 {
			return f, nil
		}
		n, hdr = uint64(binary.BigEndian.Uint16(p[2:])), 4
	case 127:
		if len(p) < 10 {
			return f, nil
		}
		n, hdr = binary.BigEndian.Uint64(p[2:]), 10
		if n>>63 != 0 {
			return f, wsProtocolError("payload length with its most significant bit set")
		}
	default:
		n = uint64(l)
	}
	if n > uint64(max) {
		return f, &wsError{code: websocket.CloseMessageTooBig, msg: fmt.Sprintf("message over %d bytes", max)}
	}
	if len(p) < hdr+4 {
		return f, nil
	}
	copy(f.key[:], p[hdr:hdr+4])
	f.hdr, f.n = hdr+4, int(n)
	return f, nil
}

// wsWholeMessage reports whether p starts with a whole unfragmented data
// message of at most max bytes.
func wsWholeMessage(p []byte, max int) bool {
	f, err := parseWSFrame(p, max)
	return err == nil && f.hdr > 0 && len(p) >= f.hdr+f.n && f.fin && (f.op == wsOpBinary || f.op == wsOpText)
}

// wsUnmask unmasks a frame's payload in place, eight bytes at a time.
func wsUnmask(p []byte, key [4]byte) {
	k32 := binary.LittleEndian.Uint32(key[:])
	k64 := uint64(k32) | uint64(k32)<<32
	i := 0
	for ; i+8 <= len(p); i += 8 {
		binary.LittleEndian.PutUint64(p[i:], binary.LittleEndian.Uint64(p[i:])^k64)
	}
	for ; i < len(p); i++ {
		p[i] ^= key[i&3]
	}
}

// wsCloseReply returns the status to echo for a client's close frame payload
// (0: echo an empty close, the client sent no status), or the error to close
// with instead (RFC 6455 §5.5.1, §7.4).
func wsCloseReply(p []byte) (int, error) {
	switch {
	case len(p) == 0:
		return 0, nil
	case len(p) == 1:
		return 0, wsProtocolError("close frame with a 1-byte payload")
	}
	code := int(binary.BigEndian.Uint16(p))
	if !wsValidCloseCode(code) {
		return 0, wsProtocolError(fmt.Sprintf("invalid close code %d", code))
	}
	if !utf8.Valid(p[2:]) {
		return 0, &wsError{code: websocket.CloseInvalidFramePayloadData, msg: "close reason is not UTF-8"}
	}
	return code, nil
}

// wsValidCloseCode reports whether a client may send code (as gorilla
// accepts them: the registered codes meant to be sent, and 3000-4999).
func wsValidCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	}
	return code >= 3000 && code <= 4999
}

// appendWSHeader appends a server frame header: FIN, no extension bits, no
// mask (server frames are not masked).
func appendWSHeader(dst []byte, opcode byte, n int) []byte {
	dst = append(dst, 0x80|opcode)
	switch {
	case n < 126:
		return append(dst, byte(n))
	case n <= 0xFFFF:
		return binary.BigEndian.AppendUint16(append(dst, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(dst, 127), uint64(n))
	}
}

// wsPong appends a pong frame carrying data (at most 125 bytes, as the
// readers guarantee for a ping's payload).
func wsPong(dst []byte, data string) []byte {
	return append(appendWSHeader(dst, wsOpPong, len(data)), data...)
}

// appendWSClose appends a close frame with code, or an empty one for 0.
func appendWSClose(dst []byte, code int) []byte {
	if code == 0 {
		return appendWSHeader(dst, wsOpClose, 0)
	}
	return binary.BigEndian.AppendUint16(appendWSHeader(dst, wsOpClose, 2), uint16(code))
}
