package gate

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"io"
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
	n := envCount("GATE_IDLE_CONNS", idleConns)
	gate := idleRun(b, "gate", n)
	bare := idleRun(b, "bare", n)
	b.ReportMetric(gate, "gate_KiB/conn")
	b.ReportMetric(bare, "bare_KiB/conn")
	b.ReportMetric(gate/bare, "gate/bare")
}

// idleRun starts a child server of kind, holds n idle connections to it and
// returns the KiB of RSS each added.
func idleRun(b *testing.B, kind string, n int) float64 {
	s := startChildServer(b, "TestHelperIdleServer", "GATE_IDLE", kind)
	defer s.stop()
	return s.measureIdle(n, "idle connections", func(i int, src *net.TCPAddr) (io.Closer, error) {
		d := net.Dialer{LocalAddr: src}
		c, err := d.Dial("tcp", s.addr)
		if err != nil {
			return nil, err
		}
		login, _ := wire.Append(nil, s.hello(i))
		if _, err := c.Write(login); err != nil {
			return c, err
		}
		// The answer (login response or echo) arrives: the connection
		// went through its whole setup and is now idle.
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, err = wire.NewReader(c, 1<<20).ReadRaw()
		return c, err
	})
}

// envCount is the positive number in the environment variable name, or def.
func envCount(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// childServer is a server of the idle-memory benchmarks running in a child
// process (this test binary, running one TestHelper…Server, see serveIdle)
// with the environment variables PREFIX_KIND and PREFIX_SECRET set. It
// speaks a line protocol: it prints "addr <address>", then answers each
// "rss" line on stdin with "rss <VmRSS bytes> <connections>", until stdin
// closes.
type childServer struct {
	b      *testing.B
	kind   string
	cmd    *exec.Cmd
	in     io.WriteCloser
	lines  *bufio.Scanner
	addr   string
	signer *ticket.Signer
}

// startChildServer starts test in a child process as a server of kind,
// with the environment variables prefix_KIND and prefix_SECRET (a fresh
// ticket secret, which s.hello signs with), and reads its address.
func startChildServer(b *testing.B, test, prefix, kind string) *childServer {
	secret := randomSecret(b)
	signer, err := ticket.NewSigner(secret, time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$")
	cmd.Env = append(os.Environ(), prefix+"_KIND="+kind, prefix+"_SECRET="+hex.EncodeToString(secret))
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
	s := &childServer{b: b, kind: kind, cmd: cmd, in: in, lines: bufio.NewScanner(out), signer: signer}
	s.addr = s.next("addr ")
	return s
}

// stop closes the child's stdin, which makes it stop and exit, and waits.
func (s *childServer) stop() {
	_ = s.in.Close()
	_ = s.cmd.Wait()
}

// next returns the rest of the child's next output line starting with prefix.
func (s *childServer) next(prefix string) string {
	s.b.Helper()
	for s.lines.Scan() {
		if l := s.lines.Text(); strings.HasPrefix(l, prefix) {
			return strings.TrimPrefix(l, prefix)
		}
	}
	s.b.Fatalf("%s server ended before %q", s.kind, prefix)
	return ""
}

// rss returns the child's VmRSS once it counts wantConns connections
// (asking every 100 ms, for at most a minute).
func (s *childServer) rss(wantConns int) int64 {
	s.b.Helper()
	for deadline := time.Now().Add(time.Minute); ; {
		fmt.Fprintln(s.in, "rss")
		f := strings.Fields(s.next("rss "))
		r, _ := strconv.ParseInt(f[0], 10, 64)
		c, _ := strconv.Atoi(f[1])
		if c >= wantConns {
			return r
		}
		if time.Now().After(deadline) {
			s.b.Fatalf("%s: %d of %d connections counted", s.kind, c, wantConns)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// hello is the first message the idle client number i sends a server of
// s's kind: a resumable login to the gate, a heartbeat to echo otherwise.
func (s *childServer) hello(i int) *gamev1.Envelope {
	if s.kind != "gate" {
		return &gamev1.Envelope{Kind: gamev1.Kind_KIND_HEARTBEAT}
	}
	tok, _, _ := s.signer.Sign(idlePlayer(i), time.Now())
	body, _ := proto.Marshal(&gamev1.LoginRequest{Ticket: tok, Resumable: true})
	return &gamev1.Envelope{Kind: gamev1.Kind_KIND_LOGIN, Body: body}
}

// measureIdle reads the child's RSS, opens n connections to it with open
// (connection i from source address src, one of 40 loopback addresses, taken
// through its whole setup), 8 at a time, reads the RSS again once the child
// counts them, closes them and returns the KiB of RSS each added. what names
// the connections in the log.
func (s *childServer) measureIdle(n int, what string, open func(i int, src *net.TCPAddr) (io.Closer, error)) float64 {
	s.b.Helper()
	before := s.rss(0)
	conns := make([]io.Closer, n)
	defer func() {
		for _, c := range conns {
			if c != nil {
				_ = c.Close()
			}
		}
	}()
	var wg sync.WaitGroup
	var failed atomic.Int32
	var firstErr atomic.Value
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				c, err := open(i, &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%40))})
				conns[i] = c
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() > 0 {
		s.b.Fatalf("%s: %d of %d connections failed, first: %v", s.kind, failed.Load(), n, firstErr.Load())
	}
	after := s.rss(n)
	per := float64(after-before) / float64(n) / 1024
	s.b.Logf("%s: RSS %d → %d KiB with %d %s: %.2f KiB each", s.kind, before>>10, after>>10, n, what, per)
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
		g := startIdleGate(t, "GATE_IDLE_SECRET", func(c *Config) { c.TCPAddr = "127.0.0.1:0" })
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
	serveIdle(kind, kind, os.Getenv("GATE_IDLE_HEAPPROFILE"), addr, count)
}

// startIdleGate starts a Gate for a TestHelper…Server with the ticket
// secret in the environment variable secretEnv, an in-memory directory and
// ticket store, heartbeats every minute, no admission limits and the
// listener listen sets; t's cleanup stops it.
func startIdleGate(t *testing.T, secretEnv string, listen func(*Config)) *Gate {
	secret, _ := hex.DecodeString(os.Getenv(secretEnv))
	verifier, err := ticket.NewVerifier(secret)
	if err != nil {
		t.Fatal(err)
	}
	reg := functions.NewRegistry()
	cfg := Config{ID: "idle", HeartbeatInterval: time.Minute, MaxOnline: 1 << 20, QueueCap: 1 << 20, AdmissionRate: 1e6}
	listen(&cfg)
	g, err := New(cfg, Deps{Invoker: invokerFunc(reg.Call), Tickets: verifier, Used: &usedTickets{ids: map[string]time.Time{}},
		Directory: directory.NewMemory(), Subscriber: &subscriber{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Stop(context.Background()) })
	return g
}

// serveIdle is the child's side of childServer's line protocol: it prints
// addr, then answers each "rss" line on stdin, after two GCs, with its VmRSS
// in bytes and count(), until stdin closes. It logs the memory statistics
// under name on stderr and, when heapProfile is set, writes a heap profile to
// heapProfile.kind before each answer.
func serveIdle(name, kind, heapProfile, addr string, count func() int) {
	fmt.Printf("addr %s\n", addr)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if heapProfile != "" {
			if f, err := os.Create(heapProfile + "." + kind); err == nil {
				_ = pprof.Lookup("heap").WriteTo(f, 0)
				f.Close()
			}
		}
		runtime.GC()
		debug.FreeOSMemory() // what the scavenger does over time on an idle process
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(os.Stderr, "%s: conns %d heap_inuse %d KiB stack_inuse %d KiB goroutines %d sys %d KiB\n",
			name, count(), ms.HeapInuse>>10, ms.StackInuse>>10, runtime.NumGoroutine(), ms.Sys>>10)
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
