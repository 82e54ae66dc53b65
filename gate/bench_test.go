package gate

import (
	"bufio"
	"context"
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
	e := newEnvDeps(b, func(c *Config) {
		c.WSAddr = ""
		c.MaxInflight = 2 * benchWindow
		c.RateLimit = 1e9
		c.RateBurst = 1 << 30
	}, func(r *functions.Registry) {
		r.Handle("bench", "echo", functions.Method{Public: true, Handler: func(_ context.Context, req gamemesh.Request) ([]byte, error) {
			return req.Body, nil
		}})
	}, deps)
	c := e.dial()
	c.login(e, "p1")
	pipeline(b, c.c, "bench.echo")
}

// BenchmarkEchoBaseline is a bare framed-echo server on the same kind of
// socket, driven by the same pipelining client: it reads each frame through a
// buffered reader and writes it back through a buffered writer flushed when
// no more input is buffered (so it batches writes too).
func BenchmarkEchoBaseline(b *testing.B) {
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
		br := bufio.NewReaderSize(conn, tcpReadBuffer)
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
	pipeline(b, conn, "bench.echo")
}

// pipeline sends b.N requests of 64 bytes with at most benchWindow in flight,
// writing whatever the window allows in one Write, and reads the answers.
func pipeline(b *testing.B, conn net.Conn, route string) {
	body := make([]byte, 64)
	tokens := make(chan struct{}, benchWindow)
	for range benchWindow {
		tokens <- struct{}{}
	}
	_ = conn.SetReadDeadline(time.Time{})
	r := wire.NewReader(bufio.NewReaderSize(conn, 64<<10), wire.DefaultMaxFrame)
	b.ReportAllocs()
	b.ResetTimer()

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var buf []byte
		env := &gamev1.Envelope{Kind: gamev1.Kind_KIND_REQUEST, Route: route, Body: body}
		for sent := 0; sent < b.N; {
			<-tokens
			n := 1
		more:
			for sent+n < b.N {
				select {
				case <-tokens:
					n++
				default:
					break more
				}
			}
			buf = buf[:0]
			for range n {
				sent++
				env.Seq = uint64(sent)
				buf, _ = wire.Append(buf, env)
			}
			if _, err := conn.Write(buf); err != nil {
				return
			}
		}
	}()

	failed := 0
	var firstFailure *gamev1.Envelope
	for i := 0; i < b.N; i++ {
		p, err := r.ReadRaw()
		if err != nil {
			b.Fatalf("read after %d answers: %v", i, err)
		}
		env, err := wire.Decode(p)
		if err != nil || env.Code != gamemesh.CodeOK {
			if failed++; firstFailure == nil {
				firstFailure = env
			}
		}
		tokens <- struct{}{}
	}
	b.StopTimer()
	wg.Wait()
	if failed > 0 {
		b.Fatalf("%d of %d requests failed, first: %v", failed, b.N, firstFailure)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}
