package gate

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/wire"
)

// wsRound is how many requests one round of BenchmarkWSVsGorillaEcho sends
// to each server: small enough that a one-second run has several rounds to
// take the median of.
const wsRound = 5_000

// BenchmarkWSVsGorillaEcho is the WebSocket listener's throughput ratio: the
// full gate request path over WebSocket (a logged-in session sending
// requests to an in-process function route, as BenchmarkGateVsEcho does over
// TCP) against the minimal gorilla/websocket echo server (wsEcho), both on
// loopback, driven by the same gorilla client pipelining benchWindow
// requests of 64-byte bodies (the envelopes BenchmarkGateVsEcho sends, one
// per binary message). The servers run in alternating rounds of about
// wsRound requests, so both see the same machine load. It reports the
// median over rounds of each server's frames/s and the median of the
// rounds' gate/echo ratios (goal ≥ 1.0).
func BenchmarkWSVsGorillaEcho(b *testing.B) {
	e := newBenchEnv(b, func(c *Config) { c.TCPAddr = "" }, nil)
	gc := dialWSPipe(b, e.g.WSURL())
	gc.login(b, e.ticket("p1"))
	gate := newPipeliner(gc, "bench.echo")
	echo := newPipeliner(dialWSPipe(b, startWSEcho(b)), "bench.echo")

	b.ResetTimer()
	rounds := alternate(b, max(1, (b.N+wsRound/2)/wsRound), gate, echo)
	b.StopTimer()
	gr, er, ratio := make([]float64, 0, len(rounds)), make([]float64, 0, len(rounds)), make([]float64, 0, len(rounds))
	for _, r := range rounds {
		g, ec := float64(r.n)/r.gate.Seconds(), float64(r.n)/r.echo.Seconds()
		gr, er, ratio = append(gr, g), append(er, ec), append(ratio, g/ec)
	}
	b.ReportMetric(median(gr), "gate_frames/s")
	b.ReportMetric(median(er), "echo_frames/s")
	b.ReportMetric(median(ratio), "gate/echo")
}

// median returns the median of v (which it sorts).
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// wsEcho is the minimal gorilla/websocket echo server DESIGN compares the
// gate's WebSocket listener with: an Upgrader with default settings and, per
// connection, the handler's goroutine echoing with ReadMessage and
// WriteMessage (gorilla's own echo example). n counts upgraded connections
// and wg the running handlers; when track is set it also remembers the
// connections, so that close can end them.
type wsEcho struct {
	up    websocket.Upgrader
	n     atomic.Int64
	wg    sync.WaitGroup
	track bool
	mu    sync.Mutex
	conns map[*websocket.Conn]struct{}
}

func (s *wsEcho) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.wg.Add(1)
	defer s.wg.Done()
	c, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	s.n.Add(1)
	if s.track {
		s.mu.Lock()
		if s.conns == nil {
			s.conns = map[*websocket.Conn]struct{}{}
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		defer func() { s.mu.Lock(); delete(s.conns, c); s.mu.Unlock() }()
	}
	for {
		mt, p, err := c.ReadMessage()
		if err != nil {
			return
		}
		if err := c.WriteMessage(mt, p); err != nil {
			return
		}
	}
}

// close closes the tracked connections and waits for every handler.
func (s *wsEcho) close() {
	s.mu.Lock()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// startWSEcho starts a wsEcho on loopback for the benchmark and returns its
// ws:// URL; the benchmark's cleanup stops it and ends its connections.
func startWSEcho(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	echo := &wsEcho{track: true}
	srv := &http.Server{Handler: echo, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	b.Cleanup(func() {
		_ = srv.Close() // closes the listener; hijacked connections are echo's
		<-done
		echo.close()
	})
	return "ws://" + ln.Addr().String() + "/"
}

// batchConn is the WebSocket client's connection once the handshake is done:
// gorilla writes each message with one Write, which batchConn gathers until
// flush, so that the client writes whatever the window allows in one Write,
// like tcpPipe. Only the pipeliner's writer goroutine writes.
type batchConn struct {
	net.Conn
	batching bool
	buf      []byte
}

func (c *batchConn) Write(p []byte) (int, error) {
	if !c.batching {
		return c.Conn.Write(p)
	}
	c.buf = append(c.buf, p...)
	return len(p), nil
}

func (c *batchConn) flush() error {
	_, err := c.Conn.Write(c.buf)
	c.buf = c.buf[:0]
	return err
}

// wsPipe is pipeConn over WebSocket: a gorilla client sending one
// envelope per binary message and reading the answers.
type wsPipe struct {
	c   *websocket.Conn
	bc  *batchConn
	in  bytes.Buffer
	msg []byte
}

func dialWSPipe(b *testing.B, url string) *wsPipe {
	var bc *batchConn
	d := websocket.Dialer{
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   64 << 10,
		WriteBufferSize:  4 << 10,
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			var nd net.Dialer
			c, err := nd.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			bc = &batchConn{Conn: c}
			return bc, nil
		},
	}
	c, resp, err := d.Dial(url, nil)
	if err != nil {
		b.Fatal(err)
	}
	_ = resp.Body.Close()
	b.Cleanup(func() { _ = c.Close() })
	bc.batching = true
	return &wsPipe{c: c, bc: bc}
}

// writeBatch writes one message per request and flushes them in one Write.
func (p *wsPipe) writeBatch(env *gamev1.Envelope, first uint64, k int) error {
	for i := range k {
		env.Seq = first + uint64(i)
		p.msg = wire.AppendEnvelope(p.msg[:0], env)
		if err := p.c.WriteMessage(websocket.BinaryMessage, p.msg); err != nil {
			return err
		}
	}
	return p.bc.flush()
}

// readAnswer returns the next message, valid until the next read.
func (p *wsPipe) readAnswer() ([]byte, error) {
	typ, r, err := p.c.NextReader()
	if err != nil {
		return nil, err
	}
	if typ != websocket.BinaryMessage {
		return nil, fmt.Errorf("message type %d", typ)
	}
	p.in.Reset()
	if _, err := p.in.ReadFrom(r); err != nil {
		return nil, err
	}
	return p.in.Bytes(), nil
}

// login logs the client in with tok, skipping queue updates.
func (p *wsPipe) login(b *testing.B, tok string) {
	body, _ := proto.Marshal(&gamev1.LoginRequest{Ticket: tok})
	msg, _ := proto.Marshal(&gamev1.Envelope{Kind: gamev1.Kind_KIND_LOGIN, Body: body})
	if err := p.c.WriteMessage(websocket.BinaryMessage, msg); err != nil {
		b.Fatal(err)
	}
	if err := p.bc.flush(); err != nil {
		b.Fatal(err)
	}
	_ = p.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer func() { _ = p.c.SetReadDeadline(time.Time{}) }()
	for {
		m, err := p.readAnswer()
		if err != nil {
			b.Fatalf("login: %v", err)
		}
		var env gamev1.Envelope
		if err := wire.DecodeInto(m, &env, nil); err != nil {
			b.Fatal(err)
		}
		if env.Kind == gamev1.Kind_KIND_QUEUE {
			continue
		}
		if env.Kind != gamev1.Kind_KIND_RESPONSE || env.Route != "login" || env.Code != gamemesh.CodeOK {
			b.Fatalf("got %v, want the login response", &env)
		}
		return
	}
}
