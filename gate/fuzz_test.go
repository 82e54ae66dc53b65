package gate

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/wire"
)

// FuzzResumeToken feeds arbitrary resume tokens to the parser: it never
// panics, refuses with errBadResumeToken, and only accepts tokens signed with
// the key whose claims round-trip.
func FuzzResumeToken(f *testing.F) {
	key := []byte("0123456789abcdef0123456789abcdef")
	good := mintResumeToken(key, resumeClaims{player: "p1", session: "01HZXS", gen: 2})
	for _, s := range []string{good, "", "AAAA", good[:len(good)-1], good + "A",
		mintResumeToken([]byte("another key, another key, another"), resumeClaims{player: "p1", session: "s"})} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := parseResumeToken(key, tok)
		if err != nil {
			if !errors.Is(err, errBadResumeToken) {
				t.Fatalf("error %v", err)
			}
			return
		}
		if !c.player.Valid() || c.session == "" {
			t.Fatalf("accepted %+v", c)
		}
		if again := mintResumeToken(key, c); again != tok {
			// base64 without padding has one encoding per byte string
			t.Fatalf("accepted %q, which is not how its claims encode (%q)", tok, again)
		}
	})
}

// fuzzGate is one gate shared by a fuzz target's inputs.
func fuzzGate(f *testing.F) *env {
	e := newEnv(f, func(c *Config) {
		c.HandshakeTimeout = 100 * time.Millisecond
		c.MaxFrameSize = 4096
		c.MaxPendingPerIP, c.ConnectRatePerIP, c.ConnectBurstPerIP = 1<<20, 1e9, 1<<30
	}, nil)
	return e
}

// within is e seen from one fuzz input (its helpers report to t).
func within(t *testing.T, e *env) *env {
	ce := *e
	ce.t = t
	return &ce
}

// checkAlive fails unless the gate still logs a player in and answers a call.
func checkAlive(t *testing.T, e *env) {
	e = within(t, e)
	c, err := net.Dial("tcp", e.g.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl := &client{t: t, c: c, r: wire.NewReader(c, 1<<20)}
	cl.login(e, "alive")
	seq := cl.request("echo.echo", []byte("ok"))
	cl.expectResponse(seq, 0)
}

// FuzzSessionFrames sends arbitrary bytes as a client on TCP: first as they
// come, then after a valid login. The gate must answer or close by itself
// (never hang past its deadlines, never crash) and keep serving others.
func FuzzSessionFrames(f *testing.F) {
	e := fuzzGate(f)
	for _, env := range []*gamev1.Envelope{{Kind: gamev1.Kind_KIND_REQUEST, Seq: 1, Route: "echo.echo", Body: []byte("x")},
		{Kind: gamev1.Kind_KIND_HEARTBEAT, Ack: 5}, {Kind: gamev1.Kind_KIND_LOGOUT}, {Kind: 99}} {
		b, _ := wire.Append(nil, env)
		f.Add(b, true)
	}
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, false)
	f.Add([]byte{0, 0, 0, 3, 0x08, 0x96}, true)
	f.Fuzz(func(t *testing.T, b []byte, login bool) {
		c, err := net.Dial("tcp", e.g.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if login {
			cl := &client{t: t, c: c, r: wire.NewReader(c, 1<<20)}
			cl.login(within(t, e), "fuzz")
		}
		_, _ = c.Write(b)
		r := wire.NewReader(c, 1<<20)
		if !login {
			// Without a login the gate kicks it for sure: a refused login,
			// a protocol error, or the handshake deadline (100 ms).
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			for {
				env, err := r.Read()
				if err != nil {
					if isTimeout(err) {
						t.Fatalf("connection without a login still open: %v", err)
					}
					break
				}
				if env.Kind == gamev1.Kind_KIND_KICK {
					break
				}
			}
		} else {
			// Read what comes for a moment (answers, or a kick).
			_ = c.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
			for {
				if env, err := r.Read(); err != nil || env.Kind == gamev1.Kind_KIND_KICK {
					break
				}
			}
		}
		checkAlive(t, e)
	})
}

// readWSUntilClose reads the gate's (unmasked) WebSocket frames until a
// close frame or an error.
func readWSUntilClose(r *bufio.Reader) error {
	for {
		var h [2]byte
		if _, err := io.ReadFull(r, h[:]); err != nil {
			return err
		}
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126, 127:
			ext := make([]byte, map[uint64]int{126: 2, 127: 8}[n])
			if _, err := io.ReadFull(r, ext); err != nil {
				return err
			}
			n = 0
			for _, x := range ext {
				n = n<<8 | uint64(x)
			}
		}
		if _, err := io.CopyN(io.Discard, r, int64(n)); err != nil {
			return err
		}
		if h[0]&0x0f == 0x8 {
			return nil
		}
	}
}

// FuzzWebSocketPath sends an upgrade to /ws and then arbitrary bytes as the
// client's WebSocket stream (frames, masks, lengths, opcodes, fragments,
// control frames): the gate's WebSocket read path must refuse or close
// cleanly and keep serving.
func FuzzWebSocketPath(f *testing.F) {
	e := fuzzGate(f)
	// A masked binary frame carrying a login, a text frame, a ping, a close,
	// an oversize length, a fragment without an end.
	f.Add([]byte{0x82, 0x80 | 3, 1, 2, 3, 4, 0x09, 0x94, 0x06})
	f.Add([]byte{0x81, 0x81, 0, 0, 0, 0, 'x'})
	f.Add([]byte{0x89, 0x80, 0, 0, 0, 0})
	f.Add([]byte{0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8})
	f.Add([]byte{0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Add([]byte{0x02, 0x81, 0, 0, 0, 0, 1, 0x00, 0x81, 0, 0, 0, 0, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := net.Dial("tcp", e.g.HTTPAddr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		req := "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
		if _, err := c.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(c)
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("upgrade: %v %v", resp, err)
		}
		_, _ = c.Write(b)
		// Nothing logged in: the gate ends the stream (a close frame, or the
		// connection's end) within its handshake deadline (100 ms).
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		if err := readWSUntilClose(br); isTimeout(err) {
			t.Fatalf("websocket connection left open: %v", err)
		}
		checkAlive(t, e)
	})
}
