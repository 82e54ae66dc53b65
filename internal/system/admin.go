package system

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Timeouts of the admin listener: a probe that cannot get an answer in this
// time is a failed probe, and a slow client never holds a connection.
const (
	adminTimeout      = 5 * time.Second
	adminCheckTimeout = time.Second
)

// adminListener is the small HTTP listener of a process that has no HTTP
// port of its own (`gamemesh fn`): liveness at GET /healthz (the process answers),
// readiness at GET /readyz (started, not stopping, and every check passes)
// and the process registry at GET /metrics. Orchestrators (compose
// healthchecks, Kubernetes probes) and Prometheus read it.
//
// Lifecycle: newAdminListener configures, Start binds the address and serves (the
// process is not ready yet), SetReady(true) once the process serves, Stop
// turns readiness off and closes the listener.
type adminListener struct {
	addr   string
	checks []adminCheck
	log    *slog.Logger

	ready atomic.Bool
	mux   *http.ServeMux

	mu   sync.Mutex
	srv  *http.Server
	ln   net.Listener
	done chan struct{} // closed when Serve returned
}

// adminCheck is one readiness condition: nil when it holds.
type adminCheck struct {
	name  string
	check func(ctx context.Context) error
}

// newAdminListener returns an admin listener for addr serving metrics (may
// be nil) and answering readiness from checks; nil when addr is "" (the
// methods of a nil listener do nothing).
func newAdminListener(addr string, metrics http.Handler, checks []adminCheck, log *slog.Logger) *adminListener {
	if addr == "" {
		return nil
	}
	a := &adminListener{addr: addr, checks: checks, log: log, mux: http.NewServeMux()}
	a.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { adminAnswer(w, http.StatusOK, "ok") })
	a.mux.HandleFunc("GET /readyz", a.handleReady)
	if metrics != nil {
		a.mux.Handle("GET /metrics", metrics)
	}
	return a
}

func (a *adminListener) handleReady(w http.ResponseWriter, r *http.Request) {
	if !a.ready.Load() {
		adminAnswer(w, http.StatusServiceUnavailable, "not ready: starting or stopping")
		return
	}
	for _, c := range a.checks {
		ctx, cancel := context.WithTimeout(r.Context(), adminCheckTimeout)
		err := c.check(ctx)
		cancel()
		if err != nil {
			adminAnswer(w, http.StatusServiceUnavailable, fmt.Sprintf("not ready: %s: %v", c.name, err))
			return
		}
	}
	adminAnswer(w, http.StatusOK, "ready")
}

func adminAnswer(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(msg + "\n"))
}

// Start binds the admin address and serves it; readiness stays off until
// SetReady(true).
func (a *adminListener) Start() error {
	if a == nil {
		return nil
	}
	ln, err := net.Listen("tcp", a.addr)
	if err != nil {
		return fmt.Errorf("system: admin listener: %w", err)
	}
	srv := &http.Server{
		Handler:           a.mux,
		ReadHeaderTimeout: adminTimeout,
		ReadTimeout:       adminTimeout,
		WriteTimeout:      adminTimeout,
		IdleTimeout:       2 * adminTimeout,
		MaxHeaderBytes:    8 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelDebug),
	}
	done := make(chan struct{})
	a.mu.Lock()
	a.srv, a.ln, a.done = srv, ln, done
	a.mu.Unlock()
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("admin listener stopped", "err", err)
		}
	}()
	a.log.Info("admin listener", "addr", ln.Addr().String(), "paths", "/healthz /readyz /metrics")
	return nil
}

// Addr is the bound address ("" before Start).
func (a *adminListener) Addr() string {
	if a == nil {
		return ""
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ln == nil {
		return ""
	}
	return a.ln.Addr().String()
}

// SetReady turns readiness on or off.
func (a *adminListener) SetReady(ok bool) {
	if a != nil {
		a.ready.Store(ok)
	}
}

// Stop turns readiness off and shuts the listener down, waiting for requests
// in flight until ctx ends. Stopping an admin that never started is a no-op.
func (a *adminListener) Stop(ctx context.Context) error {
	if a == nil {
		return nil
	}
	a.ready.Store(false)
	a.mu.Lock()
	srv, done := a.srv, a.done
	a.srv = nil
	a.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Shutdown(ctx)
	if err != nil {
		_ = srv.Close()
	}
	<-done
	if err != nil {
		return fmt.Errorf("system: stopping the admin listener: %w", err)
	}
	return nil
}
