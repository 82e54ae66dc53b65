package gate

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/gamemesh/gamemesh/wire"
)

// wsPair returns both ends of a connected stream socket pair whose server
// end has a file descriptor, as an accepted TCP connection does.
func wsPair(t testing.TB) (server, client net.Conn) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn := func(fd int) net.Conn {
		f := os.NewFile(uintptr(fd), "wspair")
		c, err := net.FileConn(f)
		_ = f.Close()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	server, client = conn(fds[0]), conn(fds[1])
	t.Cleanup(func() { _ = server.Close(); _ = client.Close() })
	return server, client
}

// wsRun feeds in to a wsConnTransport (the client end then closes its
// output) and collects what it reads, the pings it passes on, its final
// error and what it wrote back.
type wsRun struct {
	msgs  []string
	pings []string
	err   error
	out   []byte
}

func runWSConn(t testing.TB, in []byte, max int, pingErr error) wsRun {
	srv, cli := wsPair(t)
	var r wsRun
	tr := newWSConnTransport(srv, max, func(p string) error {
		r.pings = append(r.pings, p)
		return pingErr
	})
	if tr == nil {
		t.Fatal("no file descriptor")
	}
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		_, _ = cli.Write(in)
		_ = cli.(interface{ CloseWrite() error }).CloseWrite()
	}()
	_ = srv.SetReadDeadline(time.Now().Add(ioWait))
	for {
		b, err := tr.readFrame()
		if err != nil {
			r.err = err
			break
		}
		if len(b) > max {
			t.Fatalf("a message of %d bytes, limit %d", len(b), max)
		}
		r.msgs = append(r.msgs, string(b))
		if len(r.msgs) > len(in) {
			t.Fatal("more messages than input bytes")
		}
	}
	if tr.buf != nil && cap(tr.buf.b) > 1<<classOf(max+14) || tr.msg != nil && cap(tr.msg.b) > 1<<classOf(max) {
		t.Fatalf("buffers of %d and %d bytes for a limit of %d", cap(tr.buf.b), cap(tr.msg.b), max)
	}
	tr.release()
	_ = srv.(interface{ CloseWrite() error }).CloseWrite()
	_ = cli.SetReadDeadline(time.Now().Add(ioWait))
	r.out, _ = io.ReadAll(cli)
	_ = srv.Close() // a write the reader stopped short of fails
	<-wrote
	return r
}

// closeCode returns the status of the close frame b holds (0: empty close,
// -1: no close frame).
func closeCode(b []byte) int {
	switch {
	case len(b) == 2 && b[0] == 0x80|wsOpClose && b[1] == 0:
		return 0
	case len(b) == 4 && b[0] == 0x80|wsOpClose && b[1] == 2:
		return int(binary.BigEndian.Uint16(b[2:]))
	}
	return -1
}

func TestWSConnTransport(t *testing.T) {
	t.Parallel()
	const max = 1024
	big := string(bytes.Repeat([]byte{'y'}, max))
	errPing := errors.New("ping refused")
	tests := []struct {
		name    string
		in      []byte
		pingErr error
		msgs    []string
		pings   []string
		err     error // errors.Is target; nil with code means a *wsError
		close   int   // close code sent back, -1 for none, 0 for an empty close
	}{
		{name: "one message", in: bin("hello").bytes(), msgs: []string{"hello"}, err: io.EOF, close: -1},
		{name: "pipelined", in: join(bin("a"), bin("bb"), bin("")), msgs: []string{"a", "bb", ""}, err: io.EOF, close: -1},
		{name: "16-bit length", in: bin(big[:300]).bytes(), msgs: []string{big[:300]}, err: io.EOF, close: -1},
		{name: "64-bit length", in: cframe{fin: true, op: wsOpBinary, masked: true, enc: 127, p: []byte(big)}.bytes(), msgs: []string{big}, err: io.EOF, close: -1},
		{name: "at the limit, fragmented", in: join(frag(big[:1000]), cont(big[:24], true)), msgs: []string{big}, err: io.EOF, close: -1},
		{name: "fragments with control frames", in: join(frag("ab"), ctl(wsOpPing, []byte("p1")), cont("cd", false), ctl(wsOpPong, []byte("x")), cont("", false), cont("ef", true), bin("g")),
			msgs: []string{"abcdef", "g"}, pings: []string{"p1"}, err: io.EOF, close: -1},
		{name: "ping and pong", in: join(ctl(wsOpPing, nil), ctl(wsOpPong, nil), bin("m")), msgs: []string{"m"}, pings: []string{""}, err: io.EOF, close: -1},
		{name: "ping refused", in: join(ctl(wsOpPing, []byte("p")), bin("m")), pingErr: errPing, pings: []string{"p"}, err: errPing, close: -1},
		{name: "close 1000", in: join(bin("m"), ctl(wsOpClose, closePayload(1000, "bye")), bin("after")), msgs: []string{"m"}, err: io.EOF, close: 1000},
		{name: "close without status", in: ctl(wsOpClose, nil).bytes(), err: io.EOF, close: 0},
		{name: "close inside a fragmented message", in: join(frag("ab"), ctl(wsOpClose, closePayload(1001, ""))), err: io.EOF, close: 1001},
		{name: "close of one byte", in: ctl(wsOpClose, []byte{3}).bytes(), close: websocket.CloseProtocolError},
		{name: "close code 1005", in: ctl(wsOpClose, closePayload(1005, "")).bytes(), close: websocket.CloseProtocolError},
		{name: "close reason not UTF-8", in: ctl(wsOpClose, closePayload(1000, "\xc3\x28")).bytes(), close: websocket.CloseInvalidFramePayloadData},
		{name: "unmasked", in: cframe{fin: true, op: wsOpBinary, p: []byte("x")}.bytes(), close: websocket.CloseProtocolError},
		{name: "unmasked after a message", in: join(bin("ok"), cframe{fin: true, op: wsOpBinary, p: []byte("x")}), msgs: []string{"ok"}, close: websocket.CloseProtocolError},
		{name: "rsv1 without compression", in: cframe{fin: true, rsv: 0x40, op: wsOpBinary, masked: true, p: []byte("x")}.bytes(), close: websocket.CloseProtocolError},
		{name: "rsv3", in: cframe{fin: true, rsv: 0x10, op: wsOpPing, masked: true}.bytes(), close: websocket.CloseProtocolError},
		{name: "unknown opcode", in: cframe{fin: true, op: 0x5, masked: true}.bytes(), close: websocket.CloseProtocolError},
		{name: "fragmented ping", in: cframe{op: wsOpPing, masked: true}.bytes(), close: websocket.CloseProtocolError},
		{name: "ping over 125 bytes", in: ctl(wsOpPing, []byte(big[:126])).bytes(), close: websocket.CloseProtocolError},
		{name: "continuation first", in: cont("x", true).bytes(), close: websocket.CloseProtocolError},
		{name: "new message inside a fragmented one", in: join(frag("a"), bin("b")), close: websocket.CloseProtocolError},
		{name: "oversize", in: bin(big + "z").bytes(), err: errWSTooLarge, close: websocket.CloseMessageTooBig},
		{name: "oversize 64-bit header only", in: binary.BigEndian.AppendUint64([]byte{0x82, 0xFF}, 1<<40), err: errWSTooLarge, close: websocket.CloseMessageTooBig},
		{name: "oversize once reassembled", in: join(frag(big[:600]), ctl(wsOpPing, nil), cont(big[:425], true)), pings: []string{""}, err: errWSTooLarge, close: websocket.CloseMessageTooBig},
		{name: "text", in: cframe{fin: true, op: wsOpText, masked: true, p: []byte("{}")}.bytes(), err: errTextMessage, close: -1},
		{name: "fragmented text", in: join(cframe{op: wsOpText, masked: true, p: []byte("{")}, cont("}", true)), err: errTextMessage, close: -1},
		{name: "truncated header", in: bin("hello").bytes()[:3], err: wire.ErrTruncated, close: -1},
		{name: "truncated payload", in: bin(big[:300]).bytes()[:100], err: wire.ErrTruncated, close: -1},
		{name: "ends inside a fragmented message", in: frag("ab").bytes(), err: wire.ErrTruncated, close: -1},
		{name: "garbage", in: []byte("GET / HTTP/1.1\r\n\r\n"), close: websocket.CloseProtocolError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runWSConn(t, tc.in, max, tc.pingErr)
			var we *wsError
			switch {
			case tc.err != nil && !errors.Is(r.err, tc.err):
				t.Fatalf("error %v, want %v", r.err, tc.err)
			case tc.err == nil && !errors.As(r.err, &we):
				t.Fatalf("error %v, want a refused frame", r.err)
			}
			if len(r.msgs) != len(tc.msgs) {
				t.Fatalf("%d messages, want %d", len(r.msgs), len(tc.msgs))
			}
			for i := range r.msgs {
				if r.msgs[i] != tc.msgs[i] {
					t.Fatalf("message %d: %q, want %q", i, clip(r.msgs[i]), clip(tc.msgs[i]))
				}
			}
			if len(r.pings) != len(tc.pings) || len(r.pings) > 0 && r.pings[0] != tc.pings[0] {
				t.Fatalf("pings %q, want %q", r.pings, tc.pings)
			}
			if got := closeCode(r.out); got != tc.close {
				t.Fatalf("wrote back %x (close %d), want close %d", r.out, got, tc.close)
			}
		})
	}
}

func TestWSConnHasFrame(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []byte
		want bool // after reading the first message
	}{
		{"nothing more", bin("a").bytes(), false},
		{"a whole message", join(bin("a"), bin("b")), true},
		{"half a message", append(bin("a").bytes(), bin("bcdef").bytes()[:4]...), false},
		{"a ping first", join(bin("a"), ctl(wsOpPing, nil), bin("b")), false},
		{"a fragment", join(bin("a"), frag("b"), cont("c", true)), false},
		{"text", join(bin("a"), cframe{fin: true, op: wsOpText, masked: true}), false},
		{"unmasked", join(bin("a"), cframe{fin: true, op: wsOpBinary}), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, cli := wsPair(t)
			tr := newWSConnTransport(srv, 1024, func(string) error { return nil })
			defer tr.release()
			if _, err := cli.Write(tc.in); err != nil {
				t.Fatal(err)
			}
			_ = srv.SetReadDeadline(time.Now().Add(ioWait))
			if _, err := tr.readFrame(); err != nil {
				t.Fatal(err)
			}
			if got := tr.hasFrame(); got != tc.want {
				t.Fatalf("hasFrame %v, want %v", got, tc.want)
			}
		})
	}
}
