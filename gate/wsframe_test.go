package gate

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/gorilla/websocket"
)

// wsTestKey is the masking key of test client frames.
var wsTestKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// cframe builds a client frame. enc forces the length encoding (0: minimal,
// 126: 16-bit, 127: 64-bit); masked false leaves it unmasked.
type cframe struct {
	fin    bool
	rsv    byte // RSV bits, already shifted (0x40, 0x20, 0x10)
	op     byte
	masked bool
	enc    int
	p      []byte
}

func (f cframe) bytes() []byte {
	b0 := f.rsv | f.op
	if f.fin {
		b0 |= 0x80
	}
	var m byte
	if f.masked {
		m = 0x80
	}
	b := []byte{b0}
	n := len(f.p)
	switch {
	case f.enc == 127 || f.enc == 0 && n > 0xFFFF:
		b = binary.BigEndian.AppendUint64(append(b, m|127), uint64(n))
	case f.enc == 126 || f.enc == 0 && n >= 126:
		b = binary.BigEndian.AppendUint16(append(b, m|126), uint16(n))
	default:
		b = append(b, m|byte(n))
	}
	p := bytes.Clone(f.p)
	if f.masked {
		b = append(b, wsTestKey[:]...)
		for i := range p {
			p[i] ^= wsTestKey[i&3]
		}
	}
	return append(b, p...)
}

// Shorthands for well-formed masked client frames.
func bin(p string) cframe  { return cframe{fin: true, op: wsOpBinary, masked: true, p: []byte(p)} }
func frag(p string) cframe { return cframe{op: wsOpBinary, masked: true, p: []byte(p)} }
func cont(p string, fin bool) cframe {
	return cframe{fin: fin, op: wsOpContinuation, masked: true, p: []byte(p)}
}
func ctl(op byte, p []byte) cframe { return cframe{fin: true, op: op, masked: true, p: p} }

func closePayload(code int, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(code)), reason...)
}

func join(fs ...cframe) []byte {
	var b []byte
	for _, f := range fs {
		b = append(b, f.bytes()...)
	}
	return b
}

func TestParseWSFrame(t *testing.T) {
	t.Parallel()
	const max = 1 << 17
	big := bytes.Repeat([]byte{'x'}, 70_000)
	tests := []struct {
		name    string
		in      []byte
		wantHdr int // 0: incomplete
		wantN   int
		code    int // expected close code of the error, 0 for none
	}{
		{"empty", nil, 0, 0, 0},
		{"one byte", []byte{0x82}, 0, 0, 0},
		{"7-bit length", bin("hello").bytes(), 6, 5, 0},
		{"header without its key", bin("hello").bytes()[:5], 0, 0, 0},
		{"16-bit length", bin(string(big[:300])).bytes(), 8, 300, 0},
		{"16-bit length cut", bin(string(big[:300])).bytes()[:3], 0, 0, 0},
		{"64-bit length", bin(string(big)).bytes(), 14, len(big), 0},
		{"64-bit length cut", bin(string(big)).bytes()[:9], 0, 0, 0},
		{"non-minimal 16-bit", cframe{fin: true, op: wsOpBinary, masked: true, enc: 126, p: []byte("hi")}.bytes(), 8, 2, 0},
		{"non-minimal 64-bit", cframe{fin: true, op: wsOpBinary, masked: true, enc: 127, p: []byte("hi")}.bytes(), 14, 2, 0},
		{"zero length", bin("").bytes(), 6, 0, 0},
		{"unmasked", cframe{fin: true, op: wsOpBinary, p: []byte("x")}.bytes(), 0, 0, websocket.CloseProtocolError},
		{"rsv1", cframe{fin: true, rsv: 0x40, op: wsOpBinary, masked: true}.bytes(), 0, 0, websocket.CloseProtocolError},
		{"rsv2", cframe{fin: true, rsv: 0x20, op: wsOpBinary, masked: true}.bytes(), 0, 0, websocket.CloseProtocolError},
		{"rsv3", cframe{fin: true, rsv: 0x10, op: wsOpBinary, masked: true}.bytes(), 0, 0, websocket.CloseProtocolError},
		{"opcode 3", cframe{fin: true, op: 3, masked: true}.bytes(), 0, 0, websocket.CloseProtocolError},
		{"opcode 0xB", cframe{fin: true, op: 0xB, masked: true}.bytes(), 0, 0, websocket.CloseProtocolError},
		{"fragmented ping", cframe{op: wsOpPing, masked: true}.bytes(), 0, 0, websocket.CloseProtocolError},
		{"ping over 125", ctl(wsOpPing, big[:126]).bytes(), 0, 0, websocket.CloseProtocolError},
		{"ping of 125", ctl(wsOpPing, big[:125]).bytes(), 6, 125, 0},
		{"16-bit length, key cut", bin(string(big[:300])).bytes()[:6], 0, 0, 0},
		{"over the limit, 64-bit", binary.BigEndian.AppendUint64([]byte{0x82, 0xFF}, max+1), 0, 0, websocket.CloseMessageTooBig},
		{"64-bit length with its top bit", binary.BigEndian.AppendUint64([]byte{0x82, 0xFF}, 1<<63), 0, 0, websocket.CloseProtocolError},
		{"64-bit length 2^63-1", binary.BigEndian.AppendUint64([]byte{0x82, 0xFF}, 1<<63-1), 0, 0, websocket.CloseMessageTooBig},
		{"continuation over the limit", binary.BigEndian.AppendUint64([]byte{0x00, 0xFF}, max+1), 0, 0, websocket.CloseMessageTooBig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parseWSFrame(tc.in, max)
			var we *wsError
			switch {
			case tc.code == 0 && err != nil:
				t.Fatalf("error %v", err)
			case tc.code != 0 && (!errors.As(err, &we) || we.code != tc.code):
				t.Fatalf("error %v, want close %d", err, tc.code)
			case tc.code == 0 && (f.hdr != tc.wantHdr || f.hdr > 0 && f.n != tc.wantN):
				t.Fatalf("hdr %d n %d, want %d %d", f.hdr, f.n, tc.wantHdr, tc.wantN)
			}
			if tc.code == websocket.CloseMessageTooBig && !errors.Is(err, errWSTooLarge) {
				t.Fatalf("%v is not errWSTooLarge", err)
			}
		})
	}
	if _, err := parseWSFrame(bin(string(big[:300])).bytes(), 299); !errors.Is(err, errWSTooLarge) {
		t.Fatalf("300 bytes with a limit of 299: %v", err)
	}
}

func TestWSUnmask(t *testing.T) {
	t.Parallel()
	for n := range 40 {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(i * 7)
		}
		f := cframe{fin: true, op: wsOpBinary, masked: true, p: p}.bytes()
		got := f[len(f)-n:]
		wsUnmask(got, wsTestKey)
		if !bytes.Equal(got, p) {
			t.Fatalf("%d bytes: %x, want %x", n, got, p)
		}
	}
}

func TestWSCloseReply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []byte
		echo int
		code int // error close code, 0 for none
	}{
		{"no status", nil, 0, 0},
		{"normal", closePayload(1000, "bye"), 1000, 0},
		{"going away", closePayload(1001, ""), 1001, 0},
		{"application code", closePayload(4000, "x"), 4000, 0},
		{"one byte", []byte{0x03}, 0, websocket.CloseProtocolError},
		{"1005 sent", closePayload(1005, ""), 0, websocket.CloseProtocolError},
		{"1006 sent", closePayload(1006, ""), 0, websocket.CloseProtocolError},
		{"999", closePayload(999, ""), 0, websocket.CloseProtocolError},
		{"5000", closePayload(5000, ""), 0, websocket.CloseProtocolError},
		{"reason not UTF-8", closePayload(1000, "\xff\xfe"), 0, websocket.CloseInvalidFramePayloadData},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			echo, err := wsCloseReply(tc.in)
			var we *wsError
			switch {
			case tc.code == 0 && (err != nil || echo != tc.echo):
				t.Fatalf("echo %d err %v, want %d", echo, err, tc.echo)
			case tc.code != 0 && (!errors.As(err, &we) || we.code != tc.code):
				t.Fatalf("err %v, want close %d", err, tc.code)
			}
		})
	}
}
