package scenehost

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions/player"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/scene"
)

// Host runs scenes for gates. Create it with New, then Start and Stop it.
type Host struct {
	cfg   Config
	deps  Deps
	log   *slog.Logger
	m     *metrics
	rules scene.Rules

	ctx    context.Context // cancelled by Stop once everything is flushed
	cancel context.CancelFunc
	wg     sync.WaitGroup
	srv    *grpc.Server
	ln     net.Listener
	events *eventQueue
	wake   chan struct{} // wakes the saver

	mu       sync.Mutex
	started  bool
	stopping bool
	scenes   map[string]*sceneRun
	players  map[gamemesh.PlayerID]*held
	links    map[*link]struct{}
	rulesLog time.Time // last rules error logged
}

// New returns a Host for cfg and deps, or an error naming every invalid setting.
func New(cfg Config, deps Deps) (*Host, error) {
	cfg = cfg.withDefaults()
	if err := errors.Join(cfg.validate(), deps.validate()); err != nil {
		return nil, err
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Host{
		cfg: cfg, deps: deps, log: log.With("scene_host", cfg.ID), rules: deps.Rules,
		wake:    make(chan struct{}, 1),
		scenes:  map[string]*sceneRun{},
		players: map[gamemesh.PlayerID]*held{},
		links:   map[*link]struct{}{},
	}
	if h.rules == nil {
		h.rules = scene.DefaultRules{DropTables: DefaultDropTables()}
	}
	var err error
	if h.m, err = newMetrics(h, deps.Metrics); err != nil {
		return nil, err
	}
	h.events = newEventQueue(deps.Publisher, cfg.EventBuffer, h.m, h.log)
	return h, nil
}

// ID returns the host's id.
func (h *Host) ID() string { return h.cfg.ID }

// Addr returns the address gates link to ("" before Start).
func (h *Host) Addr() string {
	if h.cfg.AdvertiseAddr != "" {
		return h.cfg.AdvertiseAddr
	}
	if h.ln == nil {
		return ""
	}
	return h.ln.Addr().String()
}

// Start listens for gate links, subscribes to the host's grant notices and
// claims its static scenes (a scene another live host holds is left to it
// and claimed again if that host goes away).
func (h *Host) Start(ctx context.Context) error {
	h.mu.Lock()
	if h.started {
		h.mu.Unlock()
		return errors.New("scenehost: already started")
	}
	h.started = true
	h.mu.Unlock()
	h.ctx, h.cancel = context.WithCancel(context.WithoutCancel(ctx))
	ln, err := net.Listen("tcp", h.cfg.Addr)
	if err != nil {
		return fmt.Errorf("scenehost: listen %s: %w", h.cfg.Addr, err)
	}
	h.ln = ln
	if h.deps.Subscriber != nil {
		sub := gamemesh.Subscription{Topic: player.HostGrantsTopic(h.cfg.ID), Group: "scene-" + h.cfg.ID, Handler: h.onGrants}
		if err := h.deps.Subscriber.Subscribe(ctx, sub); err != nil {
			_ = ln.Close()
			return fmt.Errorf("scenehost: subscribing to %s: %w", sub.Topic, err)
		}
	}
	// Stop waits for the link handlers: nothing they start outlives the host.
	h.srv = grpc.NewServer(grpc.MaxRecvMsgSize(16<<20), grpc.WaitForHandlers(true))
	gamev1.RegisterSceneLinkServer(h.srv, h)
	h.wg.Go(func() {
		if err := h.srv.Serve(ln); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			h.log.Error("link server stopped", "err", err)
		}
	})
	h.wg.Go(func() { h.events.loop(h.ctx) })
	h.wg.Go(h.saverLoop)
	h.wg.Go(h.gcLoop)
	h.claimRound(ctx)
	h.wg.Go(h.claimLoop)
	h.log.Info("scene host started", "addr", h.Addr(), "tick_hz", h.cfg.TickRate, "static", h.cfg.Static)
	return nil
}

// Stop stops the scenes, saves and frees every held record (checkin), tells
// the gates (their players are re-homed on another host), releases the
// scenes and stops every goroutine. If ctx ends first, the remaining saves
// are abandoned (their records keep their last flush) and Stop returns
// ctx's error.
func (h *Host) Stop(ctx context.Context) error {
	h.mu.Lock()
	if !h.started || h.stopping {
		h.mu.Unlock()
		return nil
	}
	h.stopping = true
	runs := make([]*sceneRun, 0, len(h.scenes))
	for _, r := range h.scenes {
		runs = append(runs, r)
	}
	h.mu.Unlock()
	var errs []error
	for _, r := range runs {
		h.halt(r)
	}
	type gone struct {
		p       *held
		l       *link
		session string
	}
	var out []gone
	for _, p := range h.heldPlayers() {
		p.mu.Lock()
		out = append(out, gone{p, p.link, p.session})
		p.state, p.scene, p.link, p.urgent = stOffline, nil, nil, true
		p.mu.Unlock()
	}
	// Save and free every record (8 at a time), then tell its gate: the
	// gate re-homes the player, and the next host's checkout must find the
	// record saved.
	var mu sync.Mutex
	work := make(chan gone)
	var savers sync.WaitGroup
	for range 8 {
		savers.Go(func() {
			for g := range work {
				g.p.mu.Lock()
				loaded := g.p.epoch != 0
				g.p.mu.Unlock()
				for loaded {
					err := h.save(g.p, true)
					if err == nil || gamemesh.CodeOf(err) == gamemesh.CodePermissionDenied {
						break
					}
					if ctx.Err() != nil || !sleepCtx(ctx, 200*time.Millisecond) {
						mu.Lock()
						errs = append(errs, fmt.Errorf("scenehost: %s not saved: %w", g.p.id, err))
						mu.Unlock()
						break
					}
				}
				h.forget(g.p)
				g.l.send(detached(g.p.id, g.session, gamemesh.Errorf(gamemesh.CodeUnavailable, "scene host stopping")))
			}
		})
	}
	for _, g := range out {
		work <- g
	}
	close(work)
	savers.Wait()
	for _, r := range runs {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		_ = h.deps.Directory.Release(rctx, r.id, h.cfg.ID)
		cancel()
	}
	h.mu.Lock()
	links := make([]*link, 0, len(h.links))
	for l := range h.links {
		links = append(links, l)
	}
	h.mu.Unlock()
	for _, l := range links {
		l.closeAfterFlush(ctx)
	}
	h.srv.Stop()
	h.events.close()
	h.cancel()
	h.wg.Wait()
	h.log.Info("scene host stopped")
	return errors.Join(errs...)
}

// Kill stops the host at once, as kill -9 would: no save, no checkin, no
// release; the gates see their links break. For fault tests.
func (h *Host) Kill() {
	h.mu.Lock()
	if !h.started || h.stopping {
		h.mu.Unlock()
		return
	}
	h.stopping = true
	runs := make([]*sceneRun, 0, len(h.scenes))
	for _, r := range h.scenes {
		runs = append(runs, r)
	}
	h.mu.Unlock()
	h.srv.Stop()
	for _, r := range runs {
		r.stopOnce.Do(func() { close(r.stop) })
		<-r.done
	}
	h.events.close()
	h.cancel()
	h.wg.Wait()
}

// Load is the host's load as announced in the roster: the players it holds.
func (h *Host) Load() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.players)
}

// Online is how many players are in this host's scenes.
func (h *Host) Online() int {
	n := 0
	for _, p := range h.heldPlayers() {
		p.mu.Lock()
		if p.state == stIn {
			n++
		}
		p.mu.Unlock()
	}
	return n
}

// Scenes returns the ids of the scenes running here.
func (h *Host) Scenes() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, 0, len(h.scenes))
	for id := range h.scenes {
		out = append(out, id)
	}
	return out
}

func (h *Host) heldPlayers() []*held {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*held, 0, len(h.players))
	for _, p := range h.players {
		out = append(out, p)
	}
	return out
}

// forget drops p from the held players.
func (h *Host) forget(p *held) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.players[p.id] == p {
		delete(h.players, p.id)
	}
}

func (h *Host) addLink(l *link) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopping {
		return false
	}
	h.links[l] = struct{}{}
	return true
}

// dropLink forgets a link whose stream ended: its players' sessions are as
// good as ended (the gate re-attaches those still connected), so they leave.
func (h *Host) dropLink(l *link) {
	h.mu.Lock()
	delete(h.links, l)
	var ps []*held
	for _, p := range h.players {
		ps = append(ps, p)
	}
	h.mu.Unlock()
	for _, p := range ps {
		p.mu.Lock()
		mine, session := p.link == l, p.session
		p.mu.Unlock()
		if mine {
			h.detach(p.id, session)
		}
	}
}

func (h *Host) enabled(system string) bool {
	return h.deps.Features == nil || h.deps.Features.Enabled(system)
}

func (h *Host) wakeSaver() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

func (h *Host) rulesFailed(sceneID string, err error) {
	h.m.rulesErrors.Inc()
	h.mu.Lock()
	log := time.Since(h.rulesLog) > 5*time.Second
	if log {
		h.rulesLog = time.Now()
	}
	h.mu.Unlock()
	if log {
		h.log.Error("combat rules failed: the tick's combat did no damage", "scene", sceneID, "err", err)
	}
}

// halt stops r's goroutine and takes its players' last state.
func (h *Host) halt(r *sceneRun) {
	r.stopOnce.Do(func() { close(r.stop) })
	<-r.done
	for _, v := range r.final {
		if p := r.members[v.Player]; p != nil {
			p.mu.Lock()
			p.progress(v)
			p.mu.Unlock()
		}
	}
}

func randSeed() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:]) | 1
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
