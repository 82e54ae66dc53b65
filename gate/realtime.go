package gate

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/internal/linkq"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// Realtime routes. Every route of system "scene" goes straight to the
// player's scene host over the gate's link to it, never through a sidecar:
// scene.move, scene.cast, scene.pickup, scene.enter (a dungeon) and
// scene.leave (back to the city). The host answers once its tick applied the
// input; its SceneUpdates come back on the same link as pushes. player.get
// goes there too while a host holds the player: the host owns the record.
const (
	realtimeSystem = "scene"
	// HomeScene is the scene every player reaches at login.
	HomeScene = "city"
	// pushSceneLost tells a client its scene host is gone; the gate puts it
	// back into the city on a live host by itself.
	pushSceneLost = "scene.lost"
)

// How the gate retries putting a player into the world.
const (
	homeRetry     = 500 * time.Millisecond
	homeRetryMax  = 3 * time.Second
	linkDial      = 2 * time.Second
	maxLinkQueued = 1 << 16
)

// SceneHosts finds scene hosts; directory.SceneLocator implements it.
type SceneHosts interface {
	// Locate returns the id and link address of the host owning scene.
	Locate(ctx context.Context, scene string) (host, addr string, err error)
}

// realtime is the gate's side of the scene links: one link per scene host
// (a gRPC stream multiplexing this gate's players on that host) and where
// each online player is.
type realtime struct {
	g     *Gate
	hosts SceneHosts
	log   *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	links   map[string]*rtLink
	players map[gamemesh.PlayerID]*rtPlayer
	stopped bool
}

// rtPlayer is where an online player is in the world; guarded by realtime.mu.
type rtPlayer struct {
	s      *session
	link   *rtLink // nil while the player is between hosts
	homing bool    // a home loop runs for it
	// inflight are the requests sent to the host and not answered yet, by
	// seq: answered UNAVAILABLE by the gate when the host is lost.
	inflight map[uint64]rtCall
}

func newRealtime(g *Gate, hosts SceneHosts) *realtime {
	ctx, cancel := context.WithCancel(context.Background())
	return &realtime{g: g, hosts: hosts, log: g.log.With("part", "realtime"), ctx: ctx, cancel: cancel,
		links: map[string]*rtLink{}, players: map[gamemesh.PlayerID]*rtPlayer{}}
}

// online puts a player that just logged in into the city.
func (rt *realtime) online(s *session) {
	if rt == nil {
		return
	}
	rt.mu.Lock()
	if rt.stopped {
		rt.mu.Unlock()
		return
	}
	p := &rtPlayer{s: s, inflight: map[uint64]rtCall{}}
	old := rt.players[s.player]
	rt.players[s.player] = p
	rt.mu.Unlock()
	if old != nil && old.link != nil {
		old.link.send(&gamev1.LinkInput{Op: gamev1.LinkOp_LINK_OP_DETACH, PlayerId: string(s.player), SessionId: old.s.id})
	}
	rt.home(p, 0)
}

// offline tells the player's host its session ended.
func (rt *realtime) offline(s *session) {
	if rt == nil || s.player == "" {
		return
	}
	rt.mu.Lock()
	p := rt.players[s.player]
	if p == nil || p.s != s {
		rt.mu.Unlock()
		return
	}
	delete(rt.players, s.player)
	l := p.link
	rt.mu.Unlock()
	if l != nil {
		l.send(&gamev1.LinkInput{Op: gamev1.LinkOp_LINK_OP_DETACH, PlayerId: string(s.player), SessionId: s.id})
	}
}

// home attaches p to the city's host, retrying (after delay, then with a
// growing pause) until it is in or its session ended.
func (rt *realtime) home(p *rtPlayer, delay time.Duration) {
	rt.mu.Lock()
	if p.homing || rt.stopped {
		rt.mu.Unlock()
		return
	}
	p.homing = true
	rt.mu.Unlock()
	rt.wg.Go(func() {
		defer func() {
			rt.mu.Lock()
			p.homing = false
			rt.mu.Unlock()
		}()
		wait := delay
		for {
			if wait > 0 {
				select {
				case <-rt.ctx.Done():
					return
				case <-p.s.ctx.Done():
					return
				case <-time.After(wait):
				}
			}
			wait = min(max(2*wait, homeRetry), homeRetryMax)
			if !rt.current(p) {
				return
			}
			ctx, cancel := context.WithTimeout(rt.ctx, linkDial)
			host, addr, err := rt.hosts.Locate(ctx, HomeScene)
			cancel()
			if err != nil {
				rt.log.Debug("no host for the city yet", "player", p.s.player, "err", err)
				continue
			}
			if rt.attach(p, host, addr, &gamev1.LinkInput{SceneId: HomeScene}) {
				return
			}
		}
	})
}

// current reports whether p is still the player's live session.
func (rt *realtime) current(p *rtPlayer) bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return !rt.stopped && rt.players[p.s.player] == p && !p.s.out.ended()
}

// attach sends p's ATTACH (scene and template of in) to host at addr.
func (rt *realtime) attach(p *rtPlayer, host, addr string, in *gamev1.LinkInput) bool {
	l, err := rt.link(host, addr)
	if err != nil {
		rt.log.Debug("cannot link to the scene host", "host", host, "addr", addr, "err", err)
		return false
	}
	rt.mu.Lock()
	if rt.players[p.s.player] != p {
		rt.mu.Unlock()
		return true // the session ended meanwhile
	}
	p.link = l
	rt.mu.Unlock()
	in.Op, in.PlayerId, in.SessionId = gamev1.LinkOp_LINK_OP_ATTACH, string(p.s.player), p.s.id
	if !l.send(in) {
		rt.mu.Lock()
		if p.link == l {
			p.link = nil
		}
		rt.mu.Unlock()
		return false
	}
	return true
}

// routeHeldRecord is served by the player's scene host while it holds the
// player (it owns the record then); otherwise by the player app.
const routeHeldRecord = "player.get"

// takes reports whether route goes to the player's scene host: every scene
// route, and player.get while a host holds the player.
func (rt *realtime) takes(s *session, system, route string) bool {
	if rt == nil {
		return false
	}
	if system == realtimeSystem {
		return true
	}
	if route != routeHeldRecord {
		return false
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	p := rt.players[s.player]
	return p != nil && p.s == s && p.link != nil
}

// inflight reports whether realtime request seq of s is still waiting for
// its host's answer.
func (rt *realtime) inflight(s *session, seq uint64) bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	p := rt.players[s.player]
	if p == nil || p.s != s {
		return false
	}
	_, ok := p.inflight[seq]
	return ok
}

// realtime forwards a request (body decompressed) to the player's host;
// false ends the read loop (the session's outbox is closed).
func (s *session) realtime(env *gamev1.Envelope, body []byte) bool {
	rt := s.g.rt
	rt.mu.Lock()
	p := rt.players[s.player]
	var l *rtLink
	if p != nil && p.s == s {
		l = p.link
	}
	rt.mu.Unlock()
	if l == nil {
		return s.respondError(env, gamemesh.CodeUnavailable, "entering the world, retry")
	}
	rt.mu.Lock()
	if len(p.inflight) >= s.g.cfg.MaxInflight {
		rt.mu.Unlock()
		return s.respondError(env, gamemesh.CodeRateLimited, "too many realtime requests in flight")
	}
	p.inflight[env.Seq] = rtCall{route: env.Route, at: time.Now()}
	rt.mu.Unlock()
	if !l.send(&gamev1.LinkInput{Op: gamev1.LinkOp_LINK_OP_REQUEST, PlayerId: string(s.player), SessionId: s.id,
		Seq: env.Seq, Route: env.Route, Body: body}) {
		rt.mu.Lock()
		delete(p.inflight, env.Seq)
		rt.mu.Unlock()
		return s.respondError(env, gamemesh.CodeUnavailable, "scene host unreachable, retry")
	}
	return true
}

// link returns the live link to host, dialling it if needed.
func (rt *realtime) link(host, addr string) (*rtLink, error) {
	rt.mu.Lock()
	if l := rt.links[host]; l != nil {
		rt.mu.Unlock()
		return l, nil
	}
	rt.mu.Unlock()
	l, err := dialLink(rt, host, addr)
	if err != nil {
		return nil, err
	}
	rt.mu.Lock()
	if rt.stopped {
		rt.mu.Unlock()
		l.close()
		return nil, gamemesh.Errorf(gamemesh.CodeShuttingDown, "gate stopping")
	}
	if other := rt.links[host]; other != nil { // dialled twice at once: keep the first
		rt.mu.Unlock()
		l.close()
		return other, nil
	}
	rt.links[host] = l
	rt.mu.Unlock()
	l.start()
	return l, nil
}

// onDown delivers what a host sent: everything a session gets in one batch
// is queued at once, so its write loop writes it in one write.
func (rt *realtime) onDown(l *rtLink, down *gamev1.LinkDown) {
	var order []*session
	frames := map[*session][]*gamev1.Envelope{}
	for _, o := range down.GetOutputs() {
		id := gamemesh.PlayerID(o.GetPlayerId())
		rt.mu.Lock()
		p := rt.players[id]
		if p == nil || p.s.id != o.GetSessionId() {
			rt.mu.Unlock()
			continue // the session ended or a newer one replaced it
		}
		s := p.s
		switch o.GetKind() {
		case gamev1.LinkOutKind_LINK_OUT_TRANSFER:
			if p.link == l {
				p.link = nil
			}
			rt.mu.Unlock()
			rt.transfer(p, o.GetTransfer())
			continue
		case gamev1.LinkOutKind_LINK_OUT_DETACHED:
			if p.link == l {
				p.link = nil
			}
			unanswered := takeInflight(p)
			rt.mu.Unlock()
			body, _ := proto.Marshal(&gamev1.SceneLost{Reason: o.GetError()})
			rt.deliver(s, append(unanswered, &gamev1.Envelope{Kind: gamev1.Kind_KIND_PUSH, Route: pushSceneLost, Body: body}))
			rt.home(p, homeRetry)
			continue
		case gamev1.LinkOutKind_LINK_OUT_RESPONSE:
			if c, ok := p.inflight[o.GetReplyTo()]; ok && s.g.m != nil {
				s.g.m.callDone(c.route, o.GetCode(), time.Since(c.at))
			}
			delete(p.inflight, o.GetReplyTo())
		}
		rt.mu.Unlock()
		var env *gamev1.Envelope
		if o.GetKind() == gamev1.LinkOutKind_LINK_OUT_RESPONSE {
			env = &gamev1.Envelope{Kind: gamev1.Kind_KIND_RESPONSE, ReplyTo: o.GetReplyTo(), Route: o.GetRoute(), Code: o.GetCode(), Error: o.GetError(), Body: o.GetBody()}
		} else {
			env = &gamev1.Envelope{Kind: gamev1.Kind_KIND_PUSH, Route: o.GetRoute(), Body: o.GetBody()}
		}
		if _, ok := frames[s]; !ok {
			order = append(order, s)
		}
		frames[s] = append(frames[s], env)
	}
	for _, s := range order {
		rt.deliver(s, frames[s])
	}
}

func (rt *realtime) deliver(s *session, envs []*gamev1.Envelope) {
	s.queued(s.out.putMany(envs))
}

// transfer attaches p where its host sent it (a dungeon instance on some
// host, or back to the city's owner).
func (rt *realtime) transfer(p *rtPlayer, to *gamev1.SceneTransfer) {
	rt.wg.Go(func() {
		host, addr := to.GetHostId(), to.GetAddr()
		if host == "" {
			ctx, cancel := context.WithTimeout(rt.ctx, linkDial)
			var err error
			host, addr, err = rt.hosts.Locate(ctx, to.GetSceneId())
			cancel()
			if err != nil {
				rt.home(p, homeRetry)
				return
			}
		}
		if !rt.attach(p, host, addr, &gamev1.LinkInput{SceneId: to.GetSceneId(), Template: to.GetTemplate()}) {
			rt.home(p, homeRetry) // the target is gone: back to the city
		}
	})
}

// linkLost re-homes every player of a link that broke: they are told, and
// put back into the city once a live host holds it.
func (rt *realtime) linkLost(l *rtLink, err error) {
	rt.mu.Lock()
	if rt.links[l.host] == l {
		delete(rt.links, l.host)
	}
	var lost []*rtPlayer
	unanswered := map[*rtPlayer][]*gamev1.Envelope{}
	for _, p := range rt.players {
		if p.link == l {
			p.link = nil
			lost = append(lost, p)
			unanswered[p] = takeInflight(p)
		}
	}
	stopped := rt.stopped
	rt.mu.Unlock()
	if stopped {
		return
	}
	rt.log.Warn("scene host link lost: re-homing its players", "host", l.host, "players", len(lost), "err", err)
	body, _ := proto.Marshal(&gamev1.SceneLost{Reason: "scene host lost"})
	for _, p := range lost {
		rt.deliver(p.s, append(unanswered[p], &gamev1.Envelope{Kind: gamev1.Kind_KIND_PUSH, Route: pushSceneLost, Body: body}))
		rt.home(p, homeRetry)
	}
}

// rtCall is a realtime request sent to the host: its route, and when (for
// the per-route latency metric, like the function calls').
type rtCall struct {
	route string
	at    time.Time
}

// takeInflight answers p's unanswered requests UNAVAILABLE (the host that
// had them is gone). rt.mu is held.
func takeInflight(p *rtPlayer) []*gamev1.Envelope {
	var out []*gamev1.Envelope
	for seq, c := range p.inflight {
		out = append(out, &gamev1.Envelope{Kind: gamev1.Kind_KIND_RESPONSE, ReplyTo: seq, Route: c.route,
			Code: gamemesh.CodeUnavailable, Error: "scene host lost, retry"})
	}
	clear(p.inflight)
	return out
}

// stop closes every link (after sending what is queued: the detaches of the
// sessions that just ended) and waits for the goroutines.
func (rt *realtime) stop() {
	if rt == nil {
		return
	}
	rt.mu.Lock()
	rt.stopped = true
	links := make([]*rtLink, 0, len(rt.links))
	for _, l := range rt.links {
		links = append(links, l)
	}
	rt.mu.Unlock()
	for _, l := range links {
		l.closeAfterFlush(2 * time.Second)
	}
	rt.cancel()
	rt.wg.Wait()
}

// rtLink is the gate's end of one scene link: a send loop ships queued
// inputs in one LinkUp per wake-up, a receive loop delivers LinkDowns.
type rtLink struct {
	rt     *realtime
	host   string
	cc     *grpc.ClientConn
	stream gamev1.SceneLink_LinkClient
	cancel context.CancelFunc
	q      *linkq.Queue[*gamev1.LinkInput] // Sent() is closed when the send loop returned
}

func dialLink(rt *realtime, host, addr string) (*rtLink, error) {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(rt.ctx)
	l := &rtLink{rt: rt, host: host, cc: cc, cancel: cancel, q: linkq.New[*gamev1.LinkInput](maxLinkQueued)}
	stream, err := gamev1.OpenSceneLink(ctx, cc)
	if err == nil {
		err = stream.Send(&gamev1.LinkUp{GateId: rt.g.cfg.ID})
	}
	if err != nil {
		cancel()
		_ = cc.Close()
		return nil, err
	}
	l.stream = stream
	return l, nil
}

func (l *rtLink) start() {
	l.rt.wg.Go(l.sendLoop)
	l.rt.wg.Go(l.recvLoop)
}

// send queues in; false when the link is closed or its queue is full.
func (l *rtLink) send(in *gamev1.LinkInput) bool { return l.q.Put(in) }

// sendLoop ships the queued inputs, one LinkUp per wake-up, and half-closes
// the stream once the link is closed and everything queued was sent.
func (l *rtLink) sendLoop() {
	err := l.q.Run(func(batch []*gamev1.LinkInput) error { return l.stream.Send(&gamev1.LinkUp{Inputs: batch}) },
		func() { _ = l.stream.CloseSend() })
	if err != nil {
		l.fail(err)
	}
}

func (l *rtLink) recvLoop() {
	for {
		down, err := l.stream.Recv()
		if err != nil {
			l.fail(err)
			return
		}
		l.rt.onDown(l, down)
	}
}

// fail ends a broken link and re-homes its players.
func (l *rtLink) fail(err error) {
	if l.close() {
		l.rt.linkLost(l, err)
	}
}

// close ends the link; true for the call that closed it.
func (l *rtLink) close() bool {
	if !l.q.Close() {
		return false
	}
	l.rt.wg.Go(func() {
		select {
		case <-l.q.Sent():
		case <-time.After(2 * time.Second):
		}
		l.cancel()
		_ = l.cc.Close()
	})
	return true
}

// closeAfterFlush closes the link once queued inputs are sent (or after d).
func (l *rtLink) closeAfterFlush(d time.Duration) {
	l.close()
	select {
	case <-l.q.Sent():
	case <-time.After(d):
	}
}
