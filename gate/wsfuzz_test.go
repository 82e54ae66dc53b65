package gate

import (
	"errors"
	"io"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/gamemesh/gamemesh/wire"
)

// FuzzWSConnFrames feeds arbitrary client bytes to the WebSocket frame
// reader: it never panics, returns no message over the limit, holds no
// buffer beyond what the limit needs (checked by runWSConn), ends with one
// of its known errors, and writes back at most one close frame, carrying the
// code of the frame it refused.
func FuzzWSConnFrames(f *testing.F) {
	const max = 256
	for _, b := range [][]byte{
		bin("hello").bytes(),
		join(bin("a"), bin("bb")),
		join(frag("ab"), ctl(wsOpPing, []byte("p")), cont("cd", false), ctl(wsOpPong, nil), cont("ef", true)),
		cframe{fin: true, op: wsOpBinary, masked: true, enc: 127, p: []byte("x")}.bytes(),
		bin(string(make([]byte, 300))).bytes(),
		ctl(wsOpClose, closePayload(1000, "bye")).bytes(),
		ctl(wsOpClose, []byte{1}).bytes(),
		cframe{fin: true, op: wsOpBinary, p: []byte("x")}.bytes(),
		cframe{fin: true, rsv: 0x40, op: wsOpBinary, masked: true}.bytes(),
		cframe{fin: true, op: wsOpText, masked: true, p: []byte("t")}.bytes(),
		{0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0},
		{0x82, 0xFE, 0x01},
	} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := runWSConn(t, in, max, nil)
		var we *wsError
		switch {
		case errors.As(r.err, &we):
			if got := closeCode(r.out); got != we.code {
				t.Fatalf("refused with %v but wrote back %x", r.err, r.out)
			}
			if we.code == websocket.CloseMessageTooBig && !errors.Is(r.err, errWSTooLarge) {
				t.Fatalf("%v is not errWSTooLarge", r.err)
			}
		case errors.Is(r.err, io.EOF):
			if len(r.out) > 0 && closeCode(r.out) < 0 {
				t.Fatalf("wrote back %x", r.out)
			}
		case errors.Is(r.err, errTextMessage), errors.Is(r.err, wire.ErrTruncated):
			if len(r.out) > 0 {
				t.Fatalf("wrote back %x after %v", r.out, r.err)
			}
		default:
			t.Fatalf("error %v", r.err)
		}
		for _, p := range r.pings {
			if len(p) > wsMaxControl {
				t.Fatalf("a ping of %d bytes", len(p))
			}
		}
	})
}
