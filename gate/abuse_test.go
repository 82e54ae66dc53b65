package gate

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/wire"
)

// trickle writes b one byte every gap until the connection fails or stop is
// closed, and returns how many bytes it wrote.
func trickle(c net.Conn, b []byte, gap time.Duration, stop <-chan struct{}) int {
	for i := range b {
		select {
		case <-stop:
			return i
		case <-time.After(gap):
		}
		if _, err := c.Write(b[i : i+1]); err != nil {
			return i
		}
	}
	return len(b)
}

// TestSlowlorisLoginClosedAtTheDeadline trickles a valid login frame a byte
// at a time: the bytes keep coming, but the handshake deadline is counted
// from the connection, so it is kicked with TIMEOUT long before the frame is
// complete.
func TestSlowlorisLoginClosedAtTheDeadline(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.HandshakeTimeout = 300 * time.Millisecond }, nil)
	body, _ := proto.Marshal(&gamev1.LoginRequest{Ticket: e.ticket("p1")})
	frame, _ := wire.Append(nil, &gamev1.Envelope{Kind: gamev1.Kind_KIND_LOGIN, Body: body})
	c := e.dial()
	stop := make(chan struct{})
	sent := make(chan int, 1)
	go func() { sent <- trickle(c.c, frame, 20*time.Millisecond, stop) }()
	c.expectKick(gamemesh.CodeTimeout)
	close(stop)
	if n := <-sent; n >= len(frame) {
		t.Fatalf("the whole %d-byte login trickled in before the kick", len(frame))
	}
	eventually(t, "connection released", func() bool { return e.conns() == 0 })
}

// TestSlowlorisHTTPHeadersClosed trickles the headers of a WebSocket upgrade:
// the HTTP server drops the connection at its header deadline.
func TestSlowlorisHTTPHeadersClosed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.HandshakeTimeout = 300 * time.Millisecond }, nil)
	c, err := net.Dial("tcp", e.g.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-Padding: " + strings.Repeat("a", 200) + "\r\n\r\n")
	stop := make(chan struct{})
	sent := make(chan int, 1)
	go func() { sent <- trickle(c, req, 10*time.Millisecond, stop) }()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.Copy(io.Discard, c) // ends when the server closes
	close(stop)
	if n := <-sent; n >= len(req) {
		t.Fatalf("the whole %d-byte request trickled in before the server closed", len(req))
	}
}

// TestFloodErrorFramesThenKick sends far more requests than the rate allows:
// the first ones are served, the others answered RATE_LIMITED, and the
// persistent flood is kicked with RATE_LIMITED.
func TestFloodErrorFramesThenKick(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.RateLimit, c.RateBurst, c.MaxRateRefusals = 0.001, 5, 20 }, nil)
	c := e.dial()
	c.login(e, "p1")
	var batch []byte
	for i := 1; i <= 200; i++ {
		batch, _ = wire.Append(batch, &gamev1.Envelope{Kind: gamev1.Kind_KIND_REQUEST, Seq: uint64(i), Route: "echo.echo"})
	}
	go func() { _, _ = c.c.Write(batch) }() // the gate stops reading once it kicks
	ok, limited := 0, 0
	for {
		env, err := c.readErr()
		if err != nil {
			t.Fatalf("after %d ok and %d refused: %v", ok, limited, err)
		}
		if env.Kind == gamev1.Kind_KIND_KICK {
			if env.Code != gamemesh.CodeRateLimited || !contains(env.Error, "persistently") {
				t.Fatalf("kick %v", env)
			}
			break
		}
		switch env.Code {
		case gamemesh.CodeOK:
			ok++
		case gamemesh.CodeRateLimited:
			limited++
		default:
			t.Fatalf("answer %v", env)
		}
	}
	if ok != 5 || limited != 20 {
		t.Fatalf("%d served and %d refused before the kick, want 5 and 20", ok, limited)
	}
	eventually(t, "flooder released", func() bool { return e.g.Online() == 0 })
}

// TestHalfOpenConnections holds 10 000 connections that never send a byte
// (from another process: each side needs its own file descriptors, and a
// process may open at most 20 000). The gate keeps serving a real client
// meanwhile and closes every one of them at the handshake deadline.
func TestHalfOpenConnections(t *testing.T) {
	t.Parallel()
	const n = 10_000
	e := newEnv(t, func(c *Config) { c.HandshakeTimeout = 10 * time.Second }, nil)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHalfOpen$", "-test.v")
	cmd.Env = append(os.Environ(), "GATE_HALFOPEN_ADDR="+e.g.Addr(), "GATE_HALFOPEN_N="+strconv.Itoa(n))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	lines := bufio.NewScanner(stdout)
	wait := func(prefix string) string {
		t.Helper()
		for lines.Scan() {
			if l := lines.Text(); strings.HasPrefix(l, prefix) {
				return strings.TrimPrefix(l, prefix)
			}
		}
		t.Fatalf("helper ended before %q: %v", prefix, lines.Err())
		return ""
	}
	if got := wait("open "); got != strconv.Itoa(n) {
		t.Fatalf("helper opened %s connections, want %d", got, n)
	}
	eventuallyWithin(t, 30*time.Second, "the gate holds them", func() bool { return e.conns() >= n })
	// Meanwhile a real player logs in and plays.
	c := e.dial()
	c.login(e, "p1")
	seq := c.request("echo.echo", []byte("hi"))
	c.expectResponse(seq, gamemesh.CodeOK)
	_ = c.c.Close()
	// Every half-open connection is closed at the deadline (the helper
	// counts them as they end).
	if got := wait("closed "); got != strconv.Itoa(n) {
		t.Fatalf("the gate closed %s of %d half-open connections", got, n)
	}
	eventuallyWithin(t, 30*time.Second, "every connection released", func() bool { return e.conns() == 0 })
}

func eventuallyWithin(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestHelperHalfOpen is run by TestHalfOpenConnections in a child process:
// it opens GATE_HALFOPEN_N connections to GATE_HALFOPEN_ADDR from 40 loopback
// addresses (under the per-IP limits), never writes, and reports when all are
// open and when the gate has closed all of them.
func TestHelperHalfOpen(t *testing.T) {
	addr := os.Getenv("GATE_HALFOPEN_ADDR")
	if addr == "" {
		t.Skip("run by TestHalfOpenConnections")
	}
	n, _ := strconv.Atoi(os.Getenv("GATE_HALFOPEN_N"))
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	var failed atomic.Int32
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 16 {
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%40))}, Timeout: 10 * time.Second}
				c, err := d.Dial("tcp", addr)
				if err != nil {
					failed.Add(1)
					continue
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	fmt.Printf("open %d\n", n-int(failed.Load()))
	var closed atomic.Int32
	for _, c := range conns {
		if c == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.SetReadDeadline(time.Now().Add(60 * time.Second))
			_, err := io.Copy(io.Discard, c)
			var ne net.Error
			if !(errors.As(err, &ne) && ne.Timeout()) {
				closed.Add(1)
			}
			_ = c.Close()
		}()
	}
	wg.Wait()
	fmt.Printf("closed %d\n", closed.Load())
}
