package gate

import (
	"container/list"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/directory"
)

// Gate serves client connections. Create it with New, then Start and Stop it.
type Gate struct {
	cfg      Config
	deps     Deps
	log      *slog.Logger
	m        *metrics  // nil when Deps.Metrics is
	rt       *realtime // nil without Deps.Scenes
	upgrader websocket.Upgrader

	// ctx is the parent of calls and directory operations; cancelled when
	// Stop gives up waiting. stopCtx is cancelled when Stop begins.
	ctx        context.Context
	cancel     context.CancelFunc
	stopCtx    context.Context
	stopCancel context.CancelFunc
	stopped    chan struct{}

	wg        sync.WaitGroup // every goroutine the gate starts or serves with, but call workers
	workers   *workers       // run calls; closed once every session has ended
	admitWake chan struct{}
	admitLim  *rate.Limiter          // AdmissionRate; SetLimits changes it
	guestLim  *rate.Limiter          // GuestLoginRate, over all clients
	limits    atomic.Pointer[Limits] // stored under mu, read anywhere

	tcpLn   net.Listener
	httpLn  net.Listener
	httpSrv *http.Server

	resumeKey []byte       // signs resume tokens; random per gate process
	routes    routeTable   // interned route strings
	ips       *ipLimits    // per-IP limits of unauthenticated connections
	links     atomic.Int64 // open client connections

	mu           sync.RWMutex
	started      bool
	stopping     bool
	conns        map[*session]struct{}          // every session, handshake to detached
	online       map[gamemesh.PlayerID]*session // admitted (holding a slot), attached or detached
	resumable    map[string]*session            // online resumable sessions by id
	queue        *list.List                     // of *session, head admitted first
	queued       map[gamemesh.PlayerID]*list.Element
	queueDirty   bool      // positions changed since the last report
	queueAliveAt time.Time // when every queued client was last told its position
}

// New returns a Gate for cfg (defaults applied to zero fields) and deps, or an
// error naming every invalid setting.
func New(cfg Config, deps Deps) (*Gate, error) {
	cfg = cfg.withDefaults()
	if err := errors.Join(cfg.validate(), deps.validate()); err != nil {
		return nil, err
	}
	deps = deps.withDefaults()
	g := &Gate{
		cfg:       cfg,
		deps:      deps,
		log:       deps.Logger.With("gate", cfg.ID),
		stopped:   make(chan struct{}),
		admitWake: make(chan struct{}, 1),
		conns:     make(map[*session]struct{}),
		online:    make(map[gamemesh.PlayerID]*session),
		resumable: make(map[string]*session),
		queue:     list.New(),
		queued:    make(map[gamemesh.PlayerID]*list.Element),
		workers:   newWorkers(),
		admitLim:  rate.NewLimiter(rate.Limit(cfg.AdmissionRate), admissionBurst(cfg.AdmissionRate)),
		guestLim:  rate.NewLimiter(rate.Limit(cfg.GuestLoginRate), cfg.GuestLoginBurst),
		resumeKey: make([]byte, 32),
		ips:       newIPLimits(cfg),
	}
	if _, err := rand.Read(g.resumeKey); err != nil {
		return nil, fmt.Errorf("gate: resume key: %w", err)
	}
	if deps.Scenes != nil {
		g.rt = newRealtime(g, deps.Scenes)
	}
	var err error
	if g.m, err = newMetrics(g, deps.Metrics); err != nil {
		return nil, err
	}
	g.limits.Store(&Limits{MaxOnline: cfg.MaxOnline, QueueCap: cfg.QueueCap, AdmissionRate: cfg.AdmissionRate,
		RateLimit: cfg.RateLimit, RateBurst: cfg.RateBurst})
	g.upgrader = websocket.Upgrader{
		HandshakeTimeout: cfg.HandshakeTimeout,
		WriteBufferPool:  &sync.Pool{}, // the gate writes frames itself; gorilla needs no write buffer
		CheckOrigin:      cfg.CheckOrigin,
	}
	return g, nil
}

// Start opens the listeners, subscribes to the gate's push topic and starts
// serving. ctx bounds the start only; the gate runs until Stop.
func (g *Gate) Start(ctx context.Context) error {
	g.mu.Lock()
	if g.started {
		g.mu.Unlock()
		return errors.New("gate: already started")
	}
	g.started = true
	g.ctx, g.cancel = context.WithCancel(context.WithoutCancel(ctx))
	g.stopCtx, g.stopCancel = context.WithCancel(g.ctx)
	g.queueAliveAt = time.Now()
	g.mu.Unlock()

	if err := g.listen(ctx); err != nil {
		g.closeListeners()
		return err
	}
	sub := gamemesh.Subscription{Topic: directory.PushTopic(g.cfg.ID), Group: "gate-" + g.cfg.ID, Handler: g.onPush}
	if err := g.deps.Subscriber.Subscribe(ctx, sub); err != nil {
		g.closeListeners()
		return fmt.Errorf("gate: subscribing to %s: %w", sub.Topic, err)
	}

	g.wg.Add(1)
	go g.admissionLoop()
	if g.tcpLn != nil {
		g.wg.Add(1)
		go g.acceptLoop(g.tcpLn)
	}
	if g.httpSrv != nil {
		g.wg.Add(1)
		go g.serveHTTP()
	}
	g.log.Info("gate started", "tcp", g.Addr(), "http", g.HTTPAddr(), "push_topic", sub.Topic)
	return nil
}

// Stop stops accepting connections, lets in-flight calls answer, sends every
// session a KICK with SHUTTING_DOWN, lets in-flight HTTP requests (guest
// logins) finish, closes the connections and waits for every goroutine of the
// gate. The sessions are told first, so a slow HTTP client cannot use up ctx
// before they are. If ctx ends first, the remaining connections are closed at
// once and calls cancelled; Stop still waits for the goroutines and returns
// ctx's error. Stop before Start does nothing.
func (g *Gate) Stop(ctx context.Context) error {
	g.mu.Lock()
	if !g.started {
		g.mu.Unlock()
		return nil
	}
	if g.stopping {
		g.mu.Unlock()
		select {
		case <-g.stopped:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("gate: stop: %w", ctx.Err())
		}
	}
	g.stopping = true
	sessions := g.snapshot()
	g.mu.Unlock()
	defer close(g.stopped)

	g.stopCancel()
	var errs []error
	if g.tcpLn != nil {
		_ = g.tcpLn.Close()
	}
	// Sessions accepted from now on are refused (track), and so are guest
	// logins (enter), until Shutdown closes the HTTP listener.
	for _, s := range sessions {
		s.shutdown()
	}
	g.ips.stop()
	if g.httpSrv != nil {
		// Hijacked WebSocket connections are not the server's: this waits
		// for guest logins in flight only, bounded by HTTPTimeout each.
		if err := g.httpSrv.Shutdown(ctx); err != nil {
			_ = g.httpSrv.Close()
			errs = append(errs, fmt.Errorf("gate: stopping http server: %w", err))
		}
	}

	done := make(chan struct{})
	go func() {
		g.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		g.cancel()
		g.mu.Lock()
		sessions = g.snapshot()
		g.mu.Unlock()
		for _, s := range sessions {
			s.abort()
		}
		<-done
		errs = append(errs, fmt.Errorf("gate: stop: %w", ctx.Err()))
	}
	g.rt.stop()       // the sessions' detaches are sent first
	g.workers.close() // every session has waited for its calls: no more jobs
	g.cancel()
	g.log.Info("gate stopped")
	return errors.Join(errs...)
}

// snapshot lists the sessions; g.mu must be held.
func (g *Gate) snapshot() []*session {
	out := make([]*session, 0, len(g.conns))
	for s := range g.conns {
		out = append(out, s)
	}
	return out
}

// track records a new session and counts it in g.wg until it finishes;
// false once the gate is stopping.
func (g *Gate) track(s *session) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopping {
		return false
	}
	g.conns[s] = struct{}{}
	g.wg.Add(1)
	g.m.connAccepted()
	return true
}

// enter counts an HTTP handler's goroutine in g.wg, so that Stop waits for
// it; false once the gate is stopping. The handler calls g.wg.Done.
func (g *Gate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopping {
		return false
	}
	g.wg.Add(1)
	return true
}

// Addr is the bound TCP address ("" when TCP is disabled or not started).
func (g *Gate) Addr() string { return addrOf(g.tcpLn) }

// HTTPAddr is the bound HTTP address serving /ws, the guest login, /healthz
// and /metrics when Deps.MetricsHandler is set ("" when disabled or not started).
func (g *Gate) HTTPAddr() string { return addrOf(g.httpLn) }

// WSAddr is the bound WebSocket address, host:port (the same listener as
// HTTPAddr; the WebSocket path is /ws).
func (g *Gate) WSAddr() string { return addrOf(g.httpLn) }

// WSURL is the WebSocket URL clients dial, "ws://host:port/ws" ("wss://"
// with TLS; "" when disabled).
func (g *Gate) WSURL() string {
	if g.httpLn == nil {
		return ""
	}
	if g.cfg.TLS != nil {
		return "wss://" + g.httpLn.Addr().String() + "/ws"
	}
	return "ws://" + g.httpLn.Addr().String() + "/ws"
}

func addrOf(ln net.Listener) string {
	if ln == nil {
		return ""
	}
	return ln.Addr().String()
}

// Online is how many players are admitted on this gate.
func (g *Gate) Online() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.online)
}

// connections is how many client connections are open.
func (g *Gate) connections() int { return int(g.links.Load()) }

// Detached is how many sessions wait for their client to resume them.
func (g *Gate) Detached() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	n := 0
	for _, s := range g.resumable {
		if !s.out.hasLink() {
			n++
		}
	}
	return n
}

// Queued is how many logins wait in the admission queue.
func (g *Gate) Queued() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.queue.Len()
}

// Kick closes player's session on this gate (admitted or queued) with a KICK
// frame carrying code and reason. It reports whether the player was here.
func (g *Gate) Kick(player gamemesh.PlayerID, code gamemesh.Code, reason string) bool {
	s := g.sessionOf(player)
	if s == nil {
		return false
	}
	return s.kick(code, reason)
}
