package gate

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"net"
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

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/ticket"
	"github.com/gamemesh/gamemesh/wire"
)

// idleConns is how many idle connections BenchmarkIdleMemory holds per
// server (GATE_IDLE_CONNS overrides it; one process may open 20 000 files).
const idleConns = 10_000

// BenchmarkIdleMemory measures the resident memory an idle logged-in
// connection costs in the gate process alone, against a bare framed server
// with the common design (a read goroutine with a 4 KiB buffered reader and a
// write goroutine waiting on a channel, per connection), in one run. Each
// server runs in a child process (this test binary, see
// TestHelperIdleServer); this process opens the connections from 40 loopback
// addresses, the gate's as resumable logins that then stay silent, and reads
// the child's VmRSS before and after (each after two GCs, which an idle gate
// also runs every two minutes, so that grown stacks have shrunk). It reports
// KiB per connection for both and gate/bare (goal: the gate at most 6 KiB).
func BenchmarkIdleMemory(b *testing.B) {
	n := idleConns
	if v, err := strconv.Atoi(os.Getenv("GATE_IDLE_CONNS")); err == nil && v > 0 {
		n = v
	}
	gate := idleRun(b, "gate", n)
	bare := idleRun(b, "bare", n)
	b.ReportMetric(gate, "gate_KiB/conn")
	b.ReportMetric(bare, "bare_KiB/conn")
	b.ReportMetric(gate/bare, "gate/bare")
}

// idleRun starts a child server of kind, holds n idle connections to it and
// returns the KiB of RSS each added.
func idleRun(b *testing.B, kind string, n int) float64 {
	secret := randomSecret(b)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperIdleServer$")
	cmd.Env = append(os.Environ(), "GATE_IDLE_KIND="+kind, "GATE_IDLE_SECRET="+hex.EncodeToString(secret))
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = in.Close(); _ = cmd.Wait() }()
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
	addr := next("addr ")
	rss := func(wantConns int) int64 {
		for {
			fmt.Fprintln(in, "rss")
			f := strings.Fields(next("rss "))
			r, _ := strconv.ParseInt(f[0], 10, 64)
			c, _ := strconv.Atoi(f[1])
			if c >= wantConns {
				return r
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	before := rss(0)
	signer, _ := ticket.NewSigner(secret, time.Minute)
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	var failed atomic.Int32
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%40))}}
				c, err := d.Dial("tcp", addr)
				if err != nil {
					failed.Add(1)
					continue
				}
				conns[i] = c
				var login []byte
				if kind == "gate" {
					tok, _, _ := signer.Sign(idlePlayer(i), time.Now())
					body, _ := proto.Marshal(&gamev1.LoginRequest{Ticket: tok, Resumable: true})
					login, _ = wire.Append(nil, &gamev1.Envelope{Kind: gamev1.Kind_KIND_LOGIN, Body: body})
				} else {
					login, _ = wire.Append(nil, &gamev1.Envelope{Kind: gamev1.Kind_KIND_HEARTBEAT})
				}
				if _, err := c.Write(login); err != nil {
					failed.Add(1)
					continue
				}
				// The answer (login response or echo) arrives: the connection
				// went through its whole setup and is now idle.
				_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
				if _, err := wire.NewReader(c, 1<<20).ReadRaw(); err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		b.Fatalf("%s: %d of %d connections failed", kind, failed.Load(), n)
	}
	after := rss(n)
	for _, c := range conns {
		_ = c.Close()
	}
	per := float64(after-before) / float64(n) / 1024
	b.Logf("%s: RSS %d → %d KiB with %d idle connections: %.2f KiB each", kind, before>>10, after>>10, n, per)
	return per
}

func idlePlayer(i int) gamemesh.PlayerID { return gamemesh.PlayerID("idle" + strconv.Itoa(i)) }

// TestHelperIdleServer is a server for BenchmarkIdleMemory, run in a child
// process: GATE_IDLE_KIND=gate is a Gate (in-memory directory and ticket
// store, heartbeats every minute), bare the common two-goroutine server. It
// prints its address, then answers each "rss" line on stdin with its VmRSS
// in bytes and its connection count, until stdin closes.
func TestHelperIdleServer(t *testing.T) {
	kind := os.Getenv("GATE_IDLE_KIND")
	if kind == "" {
		t.Skip("run by BenchmarkIdleMemory")
	}
	var addr string
	var count func() int
	switch kind {
	case "gate":
		secret, _ := hex.DecodeString(os.Getenv("GATE_IDLE_SECRET"))
		verifier, err := ticket.NewVerifier(secret)
		if err != nil {
			t.Fatal(err)
		}
		reg := functions.NewRegistry()
		g, err := New(Config{ID: "idle", TCPAddr: "127.0.0.1:0", HeartbeatInterval: time.Minute,
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
		addr, count = g.Addr(), g.Online
	default:
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		var n atomic.Int64
		go bareServer(ln, &n)
		addr, count = ln.Addr().String(), func() int { return int(n.Load()) }
	}
	fmt.Printf("addr %s\n", addr)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if p := os.Getenv("GATE_IDLE_HEAPPROFILE"); p != "" {
			if f, err := os.Create(p + "." + kind); err == nil {
				_ = pprof.Lookup("heap").WriteTo(f, 0)
				f.Close()
			}
		}
		runtime.GC()
		debug.FreeOSMemory() // what the scavenger does over time on an idle process
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(os.Stderr, "%s: conns %d heap_inuse %d KiB stack_inuse %d KiB goroutines %d sys %d KiB\n",
			kind, count(), ms.HeapInuse>>10, ms.StackInuse>>10, runtime.NumGoroutine(), ms.Sys>>10)
		fmt.Printf("rss %d %d\n", vmRSS(), count())
	}
}

// bareServer serves framed echoes the common way: per connection a read
// goroutine over a 4 KiB buffered reader and a write goroutine fed by a channel.
func bareServer(ln net.Listener, n *atomic.Int64) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		n.Add(1)
		out := make(chan []byte, 16)
		go func() {
			for b := range out {
				if _, err := c.Write(b); err != nil {
					return
				}
			}
		}()
		go func() {
			defer close(out)
			r := wire.NewReader(bufio.NewReaderSize(c, 4<<10), wire.DefaultMaxFrame)
			for {
				p, err := r.ReadRaw()
				if err != nil {
					return
				}
				out <- append([]byte{0, 0, 0, byte(len(p))}, p...)
			}
		}()
	}
}

// vmRSS is this process's resident set size in bytes.
func vmRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
