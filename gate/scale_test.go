package gate

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/wire"
)

func TestCompressionNegotiatedBothWays(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte("gamemesh "), 1000) // 9 000 bytes, compresses well
	e := newEnv(t, func(c *Config) { c.CompressMin = 512; c.MaxFrameSize = 16 << 10 }, func(r *functions.Registry) {
		r.Handle("big", "get", functions.Method{Public: true, Handler: func(context.Context, gamemesh.Request) ([]byte, error) {
			return big, nil
		}})
		r.Handle("big", "len", functions.Method{Public: true, MaxBody: 1 << 20, Handler: func(_ context.Context, req gamemesh.Request) ([]byte, error) {
			return []byte{byte(len(req.Body) >> 8), byte(len(req.Body))}, nil
		}})
	})
	c := e.dial()
	c.sendLoginReq(&gamev1.LoginRequest{Ticket: e.ticket("p1"), Compression: []string{"zstd", CompressDeflate}})
	lr := c.expectLogin()
	if lr.Compression != CompressDeflate || lr.CompressMinBytes != 512 {
		t.Fatalf("negotiated %q (min %d), want deflate (512)", lr.Compression, lr.CompressMinBytes)
	}
	// A large answer arrives compressed and inflates to the original.
	seq := c.request("big.get", nil)
	r := c.expectResponse(seq, gamemesh.CodeOK)
	if !r.Compressed || len(r.Body) >= len(big)/4 {
		t.Fatalf("answer compressed=%v, %d bytes for %d", r.Compressed, len(r.Body), len(big))
	}
	got, err := io.ReadAll(flate.NewReader(bytes.NewReader(r.Body)))
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("inflated %d bytes, %v", len(got), err)
	}
	// A small one does not.
	seq = c.request("echo.echo", []byte("tiny"))
	if r := c.expectResponse(seq, gamemesh.CodeOK); r.Compressed || string(r.Body) != "tiny" {
		t.Fatalf("small answer %v", r)
	}
	// A compressed request is inflated before the call.
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	_, _ = w.Write(big)
	_ = w.Close()
	c.seq++
	c.write(&gamev1.Envelope{Kind: gamev1.Kind_KIND_REQUEST, Seq: c.seq, Route: "big.len", Body: buf.Bytes(), Compressed: true})
	if r := c.expectResponse(c.seq, gamemesh.CodeOK); int(r.Body[0])<<8|int(r.Body[1]) != len(big) {
		t.Fatalf("the function saw %d bytes", int(r.Body[0])<<8|int(r.Body[1]))
	}
	// A compression bomb (inflating past the frame limit) and garbage are
	// refused; the session goes on.
	buf.Reset()
	w.Reset(&buf)
	_, _ = w.Write(make([]byte, 1<<20))
	_ = w.Close()
	c.seq++
	c.write(&gamev1.Envelope{Kind: gamev1.Kind_KIND_REQUEST, Seq: c.seq, Route: "big.len", Body: buf.Bytes(), Compressed: true})
	c.expectResponse(c.seq, gamemesh.CodeBodyTooLarge)
	c.seq++
	c.write(&gamev1.Envelope{Kind: gamev1.Kind_KIND_REQUEST, Seq: c.seq, Route: "big.len", Body: []byte{0xff, 0xfe, 0xfd}, Compressed: true})
	c.expectResponse(c.seq, gamemesh.CodeBadRequest)
	c.heartbeatRoundTrip()

	// Without negotiation nothing is compressed, and a compressed request is refused.
	d := e.dial()
	if lr := d.login(e, "p2"); lr.Compression != "" {
		t.Fatalf("negotiated %q without an offer", lr.Compression)
	}
	seq = d.request("big.get", nil)
	if r := d.expectResponse(seq, gamemesh.CodeOK); r.Compressed || !bytes.Equal(r.Body, big) {
		t.Fatalf("uncompressed session got compressed=%v", r.Compressed)
	}
	d.seq++
	d.write(&gamev1.Envelope{Kind: gamev1.Kind_KIND_REQUEST, Seq: d.seq, Route: "big.len", Body: []byte{1}, Compressed: true})
	d.expectResponse(d.seq, gamemesh.CodeBadRequest)
}

// selfSigned returns a server TLS config for 127.0.0.1 and a client config
// trusting it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gamemesh test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool}
}

func TestTLSListeners(t *testing.T) {
	t.Parallel()
	srv, cli := selfSigned(t)
	e := newEnv(t, func(c *Config) { c.TLS = srv }, nil)
	// TCP over TLS.
	conn, err := tls.Dial("tcp", e.g.Addr(), cli)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	c := &client{t: t, c: conn, r: wire.NewReader(conn, 1<<20)}
	c.login(e, "p1")
	seq := c.request("echo.echo", []byte("over tls"))
	if r := c.expectResponse(seq, gamemesh.CodeOK); string(r.Body) != "over tls" {
		t.Fatalf("echo %q", r.Body)
	}
	// A plain TCP client gets nothing it could mistake for a session.
	plain := e.dial()
	plain.sendLogin(e.ticket("p2"))
	if env, err := plain.readErr(); err == nil {
		t.Fatalf("plain client on the TLS listener read %v", env)
	}
	// WebSocket over TLS.
	if !strings.HasPrefix(e.g.WSURL(), "wss://") {
		t.Fatalf("WSURL %q", e.g.WSURL())
	}
	w, _ := dialWSWith(t, &websocket.Dialer{TLSClientConfig: cli}, e.g.WSURL())
	body, _ := proto.Marshal(&gamev1.LoginRequest{Ticket: e.ticket("p3")})
	w.write(&gamev1.Envelope{Kind: gamev1.Kind_KIND_LOGIN, Body: body})
	if env := w.read(); env.Kind != gamev1.Kind_KIND_RESPONSE || env.Code != gamemesh.CodeOK {
		t.Fatalf("wss login: %v", env)
	}
}

func TestPerIPLimitOnUnauthenticatedConnections(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.MaxPendingPerIP = 3; c.HandshakeTimeout = 5 * time.Second }, nil)
	var held []*client
	for range 3 {
		held = append(held, e.dial())
	}
	eventually(t, "three handshakes counted", func() bool { return e.conns() == 3 })
	// The fourth from the same address is refused at once, with a reason.
	c := e.dial()
	c.expectKick(gamemesh.CodeRateLimited)
	// Another address is not affected.
	d := dialFrom(t, e.g.Addr(), "127.0.0.2")
	d.login(e, "p9")
	// A connection that logs in no longer counts against its address.
	held[0].login(e, "p1")
	ok := e.dial()
	ok.login(e, "p2")
	held = append(held, e.dial()) // three waiting again
	eventually(t, "three handshakes again", func() bool { return e.g.ips.pending(ipOfString("127.0.0.1:1")) == 3 })
	// The same over WebSocket: an HTTP 429 before the upgrade.
	_, resp, err := websocket.DefaultDialer.Dial(e.g.WSURL(), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("websocket over the per-IP limit: %v %v", resp, err)
	}
	_ = resp.Body.Close()
}

func TestPerIPConnectRateAndGuestRate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) {
		c.ConnectRatePerIP, c.ConnectBurstPerIP = 0.001, 2
		c.GuestRatePerIP, c.GuestBurstPerIP = 0.001, 1
	}, nil)
	e.reg.Handle("login", "guest", functions.Method{Handler: func(context.Context, gamemesh.Request) ([]byte, error) {
		return proto.Marshal(&gamev1.GuestLoginResponse{PlayerId: "p1", Ticket: "t"})
	}})
	e.dial().login(e, "p1")
	e.dial().login(e, "p2")
	e.dial().expectKick(gamemesh.CodeRateLimited) // the third connection within the burst
	dialFrom(t, e.g.Addr(), "127.0.0.3").login(e, "p3")

	post := func() int {
		resp, err := http.Post("http://"+e.g.HTTPAddr()+"/v1/login/guest", "application/json", strings.NewReader(`{"device_id":"device-123"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			var he httpError
			if json.NewDecoder(resp.Body).Decode(&he) != nil || he.Code != "RATE_LIMITED" || !strings.Contains(he.Error, "address") {
				t.Fatalf("429 body %+v", he)
			}
		}
		return resp.StatusCode
	}
	if got := post(); got != http.StatusOK {
		t.Fatalf("first guest login: HTTP %d", got)
	}
	if got := post(); got != http.StatusTooManyRequests {
		t.Fatalf("second guest login from the address: HTTP %d, want 429", got)
	}
}

// dialFrom connects to addr from the loopback source address src.
func dialFrom(t *testing.T, addr, src string) *client {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &client{t: t, c: c, r: wire.NewReader(c, 1<<20)}
}

// TestStormAdmitsAtTheRate floods the gate with logins while slots are free:
// they queue, positions are reported, every one is admitted in FIFO order,
// and the function behind the gate never sees logins faster than the
// admission rate allows (a lower bound on elapsed time: a slow machine
// cannot make it fail).
func TestStormAdmitsAtTheRate(t *testing.T) {
	t.Parallel()
	const n, ratePerS = 80, 50.0
	var calls atomic.Int32
	var first, last atomic.Int64
	e := newEnv(t, func(c *Config) {
		c.AdmissionRate = ratePerS
		c.MaxOnline = 1000
		c.QueueCap = 1000
	}, func(r *functions.Registry) {
		r.Handle("player", "enter", functions.Method{Public: true, Handler: func(context.Context, gamemesh.Request) ([]byte, error) {
			now := time.Now().UnixNano()
			if calls.Add(1) == 1 {
				first.Store(now)
			}
			last.Store(now)
			return nil, nil
		}})
	})
	var wg sync.WaitGroup
	var queued, positions atomic.Int32
	conns := make([]*client, n)
	for i := range conns {
		conns[i] = e.dial()
	}
	go1 := make(chan struct{})
	start := time.Now()
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-go1
			c.sendLogin(e.ticket(gamemesh.PlayerID("storm" + string(rune('a'+i/26)) + string(rune('a'+i%26)))))
			for {
				env, err := c.readErr()
				if err != nil {
					t.Error(err)
					return
				}
				if env.Kind == gamev1.Kind_KIND_QUEUE {
					positions.Add(1)
					continue
				}
				if env.Kind != gamev1.Kind_KIND_RESPONSE || env.Code != gamemesh.CodeOK {
					t.Errorf("login: %v", env)
					return
				}
				break
			}
			if positions.Load() > 0 {
				queued.Add(1)
			}
			seq := c.request("player.enter", nil)
			c.expectResponse(seq, gamemesh.CodeOK)
		}()
	}
	close(go1)
	wg.Wait()
	elapsed := time.Since(start)
	if calls.Load() != n {
		t.Fatalf("%d logins reached the function, want %d", calls.Load(), n)
	}
	if positions.Load() == 0 {
		t.Fatal("a storm far over the admission rate never queued")
	}
	burst := admissionBurst(ratePerS)
	minSpan := time.Duration(float64(n-burst-1) / ratePerS * float64(time.Second))
	if span := time.Duration(last.Load() - first.Load()); span < minSpan*9/10 || elapsed < minSpan*9/10 {
		t.Fatalf("%d logins reached the function within %v (run %v): faster than %g/s (burst %d) allows (%v)",
			n, span, elapsed, ratePerS, burst, minSpan)
	}
}

// TestQueuedLoginKickedByLoginOnAnotherGate: a player waiting in one gate's
// queue logs in on another gate; the queued login is kicked there.
func TestQueuedLoginKickedByLoginOnAnotherGate(t *testing.T) {
	t.Parallel()
	dir, b := directory.NewMemory(), newBus()
	mk := func(id string, maxOnline int) *env {
		e := newEnvDeps(t, func(c *Config) { c.ID = id; c.MaxOnline = maxOnline }, nil, func(d *Deps) {
			d.Directory, d.Subscriber, d.Publisher = dir, b, b
		})
		e.dir = dir
		return e
	}
	g1, g2 := mk("g1", 1), mk("g2", 10)
	g1.dial().login(g1, "filler")
	q := g1.dial()
	q.sendLogin(g1.ticket("p1"))
	q.expectQueue(1, 1)
	eventually(t, "queued login in the directory", func() bool {
		loc, err := dir.Locate(context.Background(), "p1")
		return err == nil && loc.Gate == "g1"
	})
	g2.dial().login(g2, "p1")
	q.expectKick(gamemesh.CodeKicked)
	eventually(t, "g1's queue emptied", func() bool { return g1.g.Queued() == 0 })
	if loc, err := dir.Locate(context.Background(), "p1"); err != nil || loc.Gate != "g2" {
		t.Fatalf("directory says %v %v, want g2", loc, err)
	}
}
