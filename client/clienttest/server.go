package clienttest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/wire"
)

// Handler answers one request of a logged-in player: the response body, or an
// error whose gamemesh code and message go back to the client. It runs on a
// goroutine of its own; ctx ends when the session or the server does, and the
// Handler must then return.
type Handler func(ctx context.Context, player gamemesh.PlayerID, route string, body []byte) ([]byte, error)

// Config shapes a Server. The zero value answers every request UNKNOWN_ROUTE.
type Config struct {
	// Handler answers requests (nil: every route is UNKNOWN_ROUTE).
	Handler Handler
	// HeartbeatInterval is what the login response asks of clients (10 s when 0).
	HeartbeatInterval time.Duration
	// QueueFrames is how many QUEUE frames (positions QueueFrames down to 1)
	// precede each login answer.
	QueueFrames int
	// RefuseLogin, when not OK, refuses every valid login with that code
	// (SERVER_FULL, SHUTTING_DOWN...).
	RefuseLogin gamemesh.Code
	// MaxFrame is the largest frame accepted (wire.DefaultMaxFrame when 0).
	MaxFrame int
}

// Server is a fake gate plus guest login endpoint on loopback.
type Server struct {
	cfg      Config
	ln       net.Listener
	hs       *http.Server
	httpAddr string
	upgrader websocket.Upgrader
	ctx      context.Context
	cancel   context.CancelFunc

	mu       sync.Mutex
	closed   bool
	conns    map[frameConn]struct{}
	sessions map[gamemesh.PlayerID]*session
	devices  map[string]gamemesh.PlayerID
	banned   map[string]bool
	tickets  map[string]*ticket

	wg sync.WaitGroup
}

type ticket struct {
	player gamemesh.PlayerID
	used   bool
}

// Start listens on two loopback ports (TCP frames; HTTP for WebSocket and
// guest login) and serves until Close.
func Start(cfg Config) (*Server, error) {
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = 10 * time.Second
	}
	if cfg.MaxFrame <= 0 {
		cfg.MaxFrame = wire.DefaultMaxFrame
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("clienttest: tcp listener: %w", err)
	}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("clienttest: http listener: %w", err)
	}
	s := &Server{
		cfg:      cfg,
		ln:       ln,
		httpAddr: hl.Addr().String(),
		conns:    make(map[frameConn]struct{}),
		sessions: make(map[gamemesh.PlayerID]*session),
		devices:  make(map[string]gamemesh.PlayerID),
		banned:   make(map[string]bool),
		tickets:  make(map[string]*ticket),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", s.serveWS)
	mux.HandleFunc("/v1/login/guest", s.serveGuest)
	s.hs = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		_ = s.hs.Serve(hl) // returns at Close
	}()
	go s.acceptTCP()
	return s, nil
}

// TCPAddr is the gate's TCP address, "tcp://127.0.0.1:port".
func (s *Server) TCPAddr() string { return "tcp://" + s.ln.Addr().String() }

// WSAddr is the gate's WebSocket address, "ws://127.0.0.1:port/ws".
func (s *Server) WSAddr() string { return "ws://" + s.httpAddr + "/ws" }

// HTTPBase is the base URL of the guest login endpoint.
func (s *Server) HTTPBase() string { return "http://" + s.httpAddr }

// Close stops listening, ends every session (handlers see their ctx end) and
// waits for every goroutine of the server.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	conns := make([]frameConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	s.cancel()
	_ = s.ln.Close()
	_ = s.hs.Close()
	for _, c := range conns {
		_ = c.close()
	}
	s.wg.Wait()
	return nil
}

// track registers a connection and counts its goroutine; false once closed.
func (s *Server) track(c frameConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(c frameConn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	_ = c.close()
	s.wg.Done()
}

func (s *Server) acceptTCP() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		fc := newTCPConn(c, s.cfg.MaxFrame)
		if !s.track(fc) {
			_ = c.Close()
			continue
		}
		go func() {
			defer s.untrack(fc)
			s.serve(fc)
		}()
	}
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	c, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	c.SetReadLimit(int64(s.cfg.MaxFrame))
	fc := &wsConn{c: c}
	if !s.track(fc) {
		_ = c.Close()
		return
	}
	defer s.untrack(fc)
	s.serve(fc)
}
