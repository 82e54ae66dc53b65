package gate

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/wire"
)

// benchWindow is how many requests the benchmark client keeps in flight.
const benchWindow = 32

// BenchmarkGateRequest measures requests through the full gate path (frame
// decode, route check, rate limit, invoke through a functions registry, response
// encode, batched write) over loopback TCP, with a client pipelining
// benchWindow requests. Compare frames/s with BenchmarkEchoBaseline.
func BenchmarkGateRequest(b *testing.B) { benchGateRequest(b, nil) }

// BenchmarkGateRequestMetrics is BenchmarkGateRequest with the gate keeping
// its Prometheus metrics.
func BenchmarkGateRequestMetrics(b *testing.B) {
	benchGateRequest(b, func(d *Deps) { d.Metrics = prometheus.NewRegistry() })
}

func benchGateRequest(b *testing.B, deps func(*Deps)) {
	pipeline(b, dialBenchGate(b, deps), "bench.echo")
}

// newBenchEnv starts a gate for the throughput benchmarks: one listener
// (listen turns the other off), no rate limit, room for 2×benchWindow
// requests in flight and a public route bench.echo answering with the
// request's body.
func newBenchEnv(b *testing.B, listen func(*Config), deps func(*Deps)) *env {
	return newEnvDeps(b, func(c *Config) {
		listen(c)
		c.MaxInflight = 2 * benchWindow
		c.RateLimit = 1e9
		c.RateBurst = 1 << 30
	}, func(r *functions.Registry) {
		r.Handle("bench", "echo", functions.Method{Public: true, Handler: func(_ context.Context, req gamemesh.Request) ([]byte, error) {
			return req.Body, nil
		}})
	}, deps)
}

// dialBenchGate starts a TCP-only bench gate and returns a connection logged
// in to it as p1.
func dialBenchGate(b *testing.B, deps func(*Deps)) net.Conn {
	e := newBenchEnv(b, func(c *Config) { c.WSAddr = "" }, deps)
	c := e.dial()
	c.login(e, "p1")
	return c.c
}

// BenchmarkEchoBaseline is a bare framed-echo server on the same kind of
// socket, driven by the same pipelining client: it reads each frame through a
// buffered reader and writes it back through a buffered writer flushed when
// no more input is buffered (so it batches writes too).
func BenchmarkEchoBaseline(b *testing.B) { pipeline(b, startEcho(b), "bench.echo") }

// startEcho starts the bare framed-echo server and returns a client
// connection to it.
func startEcho(b *testing.B) net.Conn {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	b.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		br := bufio.NewReaderSize(conn, 4<<10)
		bw := bufio.NewWriterSize(conn, 64<<10)
		fr := wire.NewReader(br, wire.DefaultMaxFrame)
		var hdr [wire.HeaderLen]byte
		for {
			p, err := fr.ReadRaw()
			if err != nil {
				return
			}
			hdr[0], hdr[1], hdr[2], hdr[3] = byte(len(p)>>24), byte(len(p)>>16), byte(len(p)>>8), byte(len(p))
			_, _ = bw.Write(hdr[:])
			_, _ = bw.Write(p)
			if br.Buffered() == 0 {
				if bw.Flush() != nil {
					return
				}
			}
		}
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = conn.Close() })
	return conn
}

// pipeline sends b.N requests of 64 bytes with at most benchWindow in flight
// and reports frames/s.
func pipeline(b *testing.B, conn net.Conn, route string) {
	p := newPipeliner(newTCPPipe(conn), route)
	b.ReportAllocs()
	b.ResetTimer()
	d, err := p.run(b.N)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/d.Seconds(), "frames/s")
}

// pipeConn is the transport under a pipeliner: writeBatch sends env k times,
// with Seq first, first+1, …, in one Write, and readAnswer returns the next
// answer's encoded envelope, valid until the next call. Only the
// pipeliner's writer goroutine calls writeBatch, only its reader readAnswer.
type pipeConn interface {
	writeBatch(env *gamev1.Envelope, first uint64, k int) error
	readAnswer() ([]byte, error)
}

// pipeliner is a client pipelining requests on one connection, writing
// whatever the window allows in one Write and reading the answers.
type pipeliner struct {
	conn  pipeConn
	route string
	body  []byte
	seq   uint64
}

func newPipeliner(conn pipeConn, route string) *pipeliner {
	return &pipeliner{conn: conn, route: route, body: make([]byte, 64)}
}

// run sends n requests with at most benchWindow in flight and returns how
// long they took, or the first failure.
func (p *pipeliner) run(n int) (time.Duration, error) {
	tokens := make(chan struct{}, benchWindow)
	for range benchWindow {
		tokens <- struct{}{}
	}
	stop := make(chan struct{})
	start := time.Now()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		env := &gamev1.Envelope{Kind: gamev1.Kind_KIND_REQUEST, Route: p.route, Body: p.body}
		for sent := 0; sent < n; {
			select {
			case <-tokens:
			case <-stop:
				return
			}
			k := 1
		more:
			for sent+k < n {
				select {
				case <-tokens:
					k++
				default:
					break more
				}
			}
			if err := p.conn.writeBatch(env, p.seq+1, k); err != nil {
				return
			}
			sent += k
			p.seq += uint64(k)
		}
	}()
	failed := 0
	var firstFailure *gamev1.Envelope
	var env gamev1.Envelope
	for i := 0; i < n; i++ {
		b, err := p.conn.readAnswer()
		if err != nil {
			close(stop) // ends the writer
			wg.Wait()
			return 0, fmt.Errorf("read after %d answers: %w", i, err)
		}
		if err := wire.DecodeInto(b, &env, nil); err != nil || env.Code != gamemesh.CodeOK {
			if failed++; firstFailure == nil {
				firstFailure = &gamev1.Envelope{Kind: env.Kind, Code: env.Code, Error: env.Error}
			}
		}
		tokens <- struct{}{}
	}
	d := time.Since(start)
	wg.Wait()
	if failed > 0 {
		return d, fmt.Errorf("%d of %d requests failed, first: %v", failed, n, firstFailure)
	}
	return d, nil
}

// tcpPipe is pipeConn over a framed TCP connection.
type tcpPipe struct {
	conn net.Conn
	r    *wire.Reader
	buf  []byte
}

func newTCPPipe(conn net.Conn) *tcpPipe {
	_ = conn.SetReadDeadline(time.Time{})
	return &tcpPipe{conn: conn, r: wire.NewReader(bufio.NewReaderSize(conn, 64<<10), wire.DefaultMaxFrame)}
}

func (c *tcpPipe) writeBatch(env *gamev1.Envelope, first uint64, k int) error {
	c.buf = c.buf[:0]
	for i := range k {
		env.Seq = first + uint64(i)
		c.buf, _ = wire.Append(c.buf, env)
	}
	_, err := c.conn.Write(c.buf)
	return err
}

func (c *tcpPipe) readAnswer() ([]byte, error) { return c.r.ReadRaw() }

// benchRound is one round of alternate: n requests, and how long each
// server took for them.
type benchRound struct {
	n          int
	gate, echo time.Duration
}

// alternate sends b.N requests to each of gate and echo in rounds (the
// first b.N%rounds of them one request larger), gate then echo in each, so
// that both see the same machine load, and returns the rounds.
func alternate(b *testing.B, rounds int, gate, echo *pipeliner) []benchRound {
	out := make([]benchRound, 0, rounds)
	for i := range rounds {
		n := b.N / rounds
		if i < b.N%rounds {
			n++
		}
		if n == 0 {
			continue
		}
		dg, err := gate.run(n)
		if err != nil {
			b.Fatalf("gate: %v", err)
		}
		de, err := echo.run(n)
		if err != nil {
			b.Fatalf("echo: %v", err)
		}
		out = append(out, benchRound{n: n, gate: dg, echo: de})
	}
	return out
}

// BenchmarkGateVsEcho is the gate's headline ratio: the full gate request
// path (as in BenchmarkGateRequest) and the bare framed-echo server (as in
// BenchmarkEchoBaseline), driven by the same client in alternating rounds of
// at most 20 000 requests, so both see the same machine load. It reports the
// frames/s of each and gate/echo (goal ≥ 0.7).
func BenchmarkGateVsEcho(b *testing.B) {
	gate := newPipeliner(newTCPPipe(dialBenchGate(b, nil)), "bench.echo")
	echo := newPipeliner(newTCPPipe(startEcho(b)), "bench.echo")
	const round = 20_000
	b.ResetTimer()
	var dg, de time.Duration
	for _, r := range alternate(b, (b.N+round-1)/round, gate, echo) {
		dg += r.gate
		de += r.echo
	}
	b.StopTimer()
	g, ec := float64(b.N)/dg.Seconds(), float64(b.N)/de.Seconds()
	b.ReportMetric(g, "gate_frames/s")
	b.ReportMetric(ec, "echo_frames/s")
	b.ReportMetric(g/ec, "gate/echo")
}
