package gate

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"

	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/wire"
)

// wsIdleConns is how many idle connections BenchmarkWSIdleMemory holds per
// server (GATE_WS_IDLE_CONNS overrides it; one process may open 20 000 files).
const wsIdleConns = 5_000

// BenchmarkWSIdleMemory measures the resident memory an idle logged-in
// WebSocket connection costs in the gate process alone, against an idle
// connection of the minimal gorilla/websocket echo server (wsEcho: default
// Upgrader, the handler's goroutine looping on ReadMessage/WriteMessage),
// in one run. Like BenchmarkIdleMemory, each server runs in a child process
// (this test binary, see TestHelperWSIdleServer); this process opens the
// connections from 40 loopback addresses, the gate's as resumable logins and
// the echo's with one echoed message, which then stay silent, and reads the
// child's VmRSS before and after (each after two GCs). It reports KiB per
// connection for both and gate/echo (goal ≤ 0.5).
func BenchmarkWSIdleMemory(b *testing.B) {
	n := envCount("GATE_WS_IDLE_CONNS", wsIdleConns)
	gate := wsIdleRun(b, "gate", n)
	echo := wsIdleRun(b, "echo", n)
	b.ReportMetric(gate, "gate_KiB/conn")
	b.ReportMetric(echo, "echo_KiB/conn")
	b.ReportMetric(gate/echo, "gate/echo")
}

// wsIdleRun starts a child server of kind, holds n idle WebSocket
// connections to it and returns the KiB of RSS each added.
func wsIdleRun(b *testing.B, kind string, n int) float64 {
	s := startChildServer(b, "TestHelperWSIdleServer", "GATE_WS_IDLE", kind)
	defer s.stop() // after measureIdle closed the connections
	url := "ws://" + s.addr + "/ws"
	return s.measureIdle(n, "idle WebSocket connections", func(i int, src *net.TCPAddr) (io.Closer, error) {
		d := websocket.Dialer{
			HandshakeTimeout: 30 * time.Second,
			ReadBufferSize:   1024,
			WriteBufferSize:  1024,
			NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				nd := net.Dialer{LocalAddr: src}
				return nd.DialContext(ctx, network, addr)
			},
		}
		c, resp, err := d.Dial(url, nil)
		if err != nil {
			return nil, err
		}
		_ = resp.Body.Close()
		msg, _ := proto.Marshal(s.hello(i))
		if err := c.WriteMessage(websocket.BinaryMessage, msg); err != nil {
			return c, err
		}
		// The answer (login response or echo) arrives: the connection
		// went through its whole setup and is now idle.
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, m, err := c.ReadMessage()
		if err != nil {
			return c, err
		}
		env, err := wire.Decode(m)
		if err != nil {
			return c, err
		}
		if kind == "gate" && (env.Kind != gamev1.Kind_KIND_RESPONSE || env.Route != "login" || env.Code != 0) {
			return c, fmt.Errorf("got %v, want the login response", env)
		}
		return c, nil
	})
}

// TestHelperWSIdleServer is a server for BenchmarkWSIdleMemory, run in a
// child process: GATE_WS_IDLE_KIND=gate is a Gate with only its WebSocket
// listener (in-memory directory and ticket store, heartbeats every minute),
// echo the minimal gorilla/websocket echo server (wsEcho) at /ws. It prints
// its address, then answers each "rss" line on stdin with its VmRSS in bytes
// and its connection count (logged in, or upgraded), until stdin closes.
func TestHelperWSIdleServer(t *testing.T) {
	kind := os.Getenv("GATE_WS_IDLE_KIND")
	if kind == "" {
		t.Skip("run by BenchmarkWSIdleMemory")
	}
	var addr string
	var count func() int
	switch kind {
	case "gate":
		g := startIdleGate(t, "GATE_WS_IDLE_SECRET", func(c *Config) { c.WSAddr = "127.0.0.1:0" })
		addr, count = g.WSAddr(), g.Online
	default:
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		echo := &wsEcho{}
		srv := &http.Server{Handler: echo, ReadHeaderTimeout: 30 * time.Second}
		served := make(chan struct{})
		go func() {
			defer close(served)
			_ = srv.Serve(ln)
		}()
		defer func() {
			_ = srv.Close()
			<-served
			echo.wg.Wait() // the parent closed its connections before stdin
		}()
		addr, count = ln.Addr().String(), func() int { return int(echo.n.Load()) }
	}
	serveIdle("ws "+kind, kind, os.Getenv("GATE_WS_IDLE_HEAPPROFILE"), addr, count)
}
