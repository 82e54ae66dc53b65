package gate

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gamemesh/gamemesh"
)

// maxHeaderBytes caps HTTP request headers.
const maxHeaderBytes = 8 << 10

// listen binds the configured listeners and builds the HTTP server.
func (g *Gate) listen(ctx context.Context) error {
	var lc net.ListenConfig
	if g.cfg.TCPAddr != "" {
		ln, err := lc.Listen(ctx, "tcp", g.cfg.TCPAddr)
		if err != nil {
			return fmt.Errorf("gate: listening on tcp %s: %w", g.cfg.TCPAddr, err)
		}
		g.tcpLn = ln
	}
	if g.cfg.WSAddr != "" {
		ln, err := lc.Listen(ctx, "tcp", g.cfg.WSAddr)
		if err != nil {
			return fmt.Errorf("gate: listening on http %s: %w", g.cfg.WSAddr, err)
		}
		if g.cfg.TLS != nil {
			ln = tls.NewListener(ln, g.cfg.TLS) // https and wss
		}
		g.httpLn = ln
		mux := http.NewServeMux()
		mux.HandleFunc("GET /ws", g.handleWS)
		mux.HandleFunc("POST /v1/login/guest", g.handleGuestLogin)
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write([]byte("ok\n"))
		})
		if h := g.deps.MetricsHandler; h != nil {
			mux.Handle("GET /metrics", h)
		}
		g.httpSrv = &http.Server{
			Handler:           g.withDeadlines(mux),
			ReadHeaderTimeout: g.cfg.HandshakeTimeout,
			IdleTimeout:       2 * g.cfg.IdleTimeout,
			MaxHeaderBytes:    maxHeaderBytes,
			ErrorLog:          slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
			BaseContext:       func(net.Listener) context.Context { return g.ctx },
		}
	}
	return nil
}

// withDeadlines bounds each HTTP request: its body must arrive within
// HTTPTimeout of the handler's start and its answer be written within
// HTTPTimeout (the guest login moves the write deadline when it has its
// answer), so a client trickling a body cannot hold a connection, nor Stop.
//
// The deadlines are the connection's, set per request through
// http.ResponseController rather than http.Server's ReadTimeout and
// WriteTimeout, so that they start when the handler does and the guest login
// can extend the write deadline past its call. Neither would outlive the
// request into a WebSocket session: gorilla's Upgrade clears the connection's
// deadlines before its handshake answer, and the session then sets its own
// (read: handshake and idle timeouts; write: WriteTimeout per batch). net/http
// clears the write deadline after each request and the read deadline while
// it waits for the next one, or once the body is read.
func (g *Gate) withDeadlines(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		d := time.Now().Add(g.cfg.HTTPTimeout)
		_ = rc.SetReadDeadline(d)
		_ = rc.SetWriteDeadline(d)
		h.ServeHTTP(w, r)
	})
}

func (g *Gate) closeListeners() {
	if g.tcpLn != nil {
		_ = g.tcpLn.Close()
	}
	if g.httpLn != nil {
		_ = g.httpLn.Close()
	}
}

// acceptLoop accepts TCP connections until the listener is closed.
func (g *Gate) acceptLoop(ln net.Listener) {
	defer g.wg.Done()
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || g.stopCtx.Err() != nil {
				return
			}
			// Out of file descriptors or similar: back off as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			g.log.Warn("accept failed", "err", err, "retry_in", delay)
			select {
			case <-g.stopCtx.Done():
				return
			case <-time.After(delay):
			}
			continue
		}
		delay = 0
		ip := ipOf(c.RemoteAddr())
		if why, ok := g.ips.acquire(ip); !ok {
			g.refuseTCP(c, why)
			continue
		}
		if !g.enter() {
			g.ips.release(ip)
			_ = c.Close()
			return
		}
		if g.cfg.TLS != nil {
			c = tls.Server(c, g.cfg.TLS) // the handshake runs in the first read, under the login deadline
		}
		l := g.newLink(newTCPTransport(c, g.cfg.MaxFrameSize), ip)
		l.ipHeld = true
		go g.serve(l) // counted in g.wg by enter; the link's end counts it done
	}
}

// serveHTTP serves the WebSocket endpoint, the guest login and health.
func (g *Gate) serveHTTP() {
	defer g.wg.Done()
	if err := g.httpSrv.Serve(g.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
		g.log.Error("http server failed", "err", err)
	}
}

// handleWS upgrades to WebSocket and serves the session on the handler's
// goroutine, counted in g.wg like a TCP session.
func (g *Gate) handleWS(w http.ResponseWriter, r *http.Request) {
	ip := ipOfString(r.RemoteAddr)
	if why, ok := g.ips.acquire(ip); !ok {
		w.Header().Set("Retry-After", "1")
		g.writeHTTPError(w, gamemesh.CodeRateLimited, why)
		return
	}
	if !g.enter() {
		g.ips.release(ip)
		g.writeHTTPError(w, gamemesh.CodeShuttingDown, "server is shutting down")
		return
	}
	hj := &wsHijacker{ResponseWriter: w}
	c, err := g.upgrader.Upgrade(hj, r, nil)
	if err != nil {
		g.ips.release(ip)
		g.wg.Done()
		g.log.Debug("websocket upgrade failed", "remote", r.RemoteAddr, "err", err)
		return // the upgrader has answered with an HTTP error
	}
	l := g.newLink(nil, ip)
	l.t = g.newWSLinkTransport(c, hj.br, l.onPing)
	l.ipHeld = true
	g.serve(l) // counted in g.wg by enter; the link's end counts it done
}
