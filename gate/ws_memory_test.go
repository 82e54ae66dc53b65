package gate

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/ticket"
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
	n := wsIdleConns
	if v, err := strconv.Atoi(os.Getenv("GATE_WS_IDLE_CONNS")); err == nil && v > 0 {
		n = v
	}
	gate := wsIdleRun(b, "gate", n)
	echo := wsIdleRun(b, "echo", n)
	b.ReportMetric(gate, "gate_KiB/conn")
	b.ReportMetric(echo, "echo_KiB/conn")
	b.ReportMetric(gate/echo, "gate/echo")
}

// wsIdleRun starts a child server of kind, holds n idle WebSocket
// connections to it and returns the KiB of RSS each added.
func wsIdleRun(b *testing.B, kind string, n int) float64 {
	secret := randomSecret(b)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWSIdleServer$")
	cmd.Env = append(os.Environ(), "GATE_WS_IDLE_KIND="+kind, "GATE_WS_IDLE_SECRET="+hex.EncodeToString(secret))
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	conns := make([]*websocket.Conn, n)
	defer func() {
		for _, c := range conns {
			if c != nil {
				_ = c.Close()
			}
		}
		_ = in.Close() // the child stops and exits
		_ = cmd.Wait()
	}()
	lines := bufio.NewScanner(out)
	next := func(prefix string) string {
		for lines.Scan() {
			if l := lines.Text(); strings.HasPrefix(l, prefix) {
				return strings.TrimPrefix(l, prefix)
			}
		}
		b.Fatalf("%s server ended before %q", kind, prefix)
		return ""
	}
	url := "ws://" + next("addr ") + "/ws"
	rss := func(wantConns int) int64 {
		for deadline := time.Now().Add(time.Minute); ; {
			fmt.Fprintln(in, "rss")
			f := strings.Fields(next("rss "))
			r, _ := strconv.ParseInt(f[0], 10, 64)
			c, _ := strconv.Atoi(f[1])
			if c >= wantConns {
				return r
			}
			if time.Now().After(deadline) {
				b.Fatalf("%s: %d of %d connections counted", kind, c, wantConns)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	before := rss(0)
	signer, _ := ticket.NewSigner(secret, time.Minute)
	var wg sync.WaitGroup
	var failed atomic.Int32
	var firstErr atomic.Value
	fail := func(err error) {
		failed.Add(1)
		firstErr.CompareAndSwap(nil, err.Error())
	}
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				src := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%40))}
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
					fail(err)
					continue
				}
				_ = resp.Body.Close()
				conns[i] = c
				var msg []byte
				if kind == "gate" {
					tok, _, _ := signer.Sign(idlePlayer(i), time.Now())
					body, _ := proto.Marshal(&gamev1.LoginRequest{Ticket: tok, Resumable: true})
					msg, _ = proto.Marshal(&gamev1.Envelope{Kind: gamev1.Kind_KIND_LOGIN, Body: body})
				} else {
					msg, _ = proto.Marshal(&gamev1.Envelope{Kind: gamev1.Kind_KIND_HEARTBEAT})
				}
				if err := c.WriteMessage(websocket.BinaryMessage, msg); err != nil {
					fail(err)
					continue
				}
				// The answer (login response or echo) arrives: the connection
				// went through its whole setup and is now idle.
				_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
				if _, m, err := c.ReadMessage(); err != nil {
					fail(err)
				} else if env, err := wire.Decode(m); err != nil {
					fail(err)
				} else if kind == "gate" && (env.Kind != gamev1.Kind_KIND_RESPONSE || env.Route != "login" || env.Code != 0) {
					fail(fmt.Errorf("got %v, want the login response", env))
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		b.Fatalf("%s: %d of %d connections failed, first: %v", kind, failed.Load(), n, firstErr.Load())
	}
	after := rss(n)
	per := float64(after-before) / float64(n) / 1024
	b.Logf("%s: RSS %d → %d KiB with %d idle WebSocket connections: %.2f KiB each", kind, before>>10, after>>10, n, per)
	return per
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
		secret, _ := hex.DecodeString(os.Getenv("GATE_WS_IDLE_SECRET"))
		verifier, err := ticket.NewVerifier(secret)
		if err != nil {
			t.Fatal(err)
		}
		reg := functions.NewRegistry()
		g, err := New(Config{ID: "idle", WSAddr: "127.0.0.1:0", HeartbeatInterval: time.Minute,
			MaxOnline: 1 << 20, QueueCap: 1 << 20, AdmissionRate: 1e6},
			Deps{Invoker: invokerFunc(reg.Call), Tickets: verifier, Used: &usedTickets{ids: map[string]time.Time{}},
				Directory: directory.NewMemory(), Subscriber: &subscriber{}})
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer g.Stop(context.Background())
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
	fmt.Printf("addr %s\n", addr)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if p := os.Getenv("GATE_WS_IDLE_HEAPPROFILE"); p != "" {
			if f, err := os.Create(p + "." + kind); err == nil {
				_ = pprof.Lookup("heap").WriteTo(f, 0)
				f.Close()
			}
		}
		runtime.GC()
		debug.FreeOSMemory() // what the scavenger does over time on an idle process
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(os.Stderr, "ws %s: conns %d heap_inuse %d KiB stack_inuse %d KiB goroutines %d sys %d KiB\n",
			kind, count(), ms.HeapInuse>>10, ms.StackInuse>>10, runtime.NumGoroutine(), ms.Sys>>10)
		fmt.Printf("rss %d %d\n", vmRSS(), count())
	}
}
