package scenehost

import (
	"context"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	"github.com/gamemesh/gamemesh/functions/player"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/scene"
)

// maxRequestBody bounds a realtime request's body (the largest is a few bytes).
const maxRequestBody = 256

// loadTimeout bounds taking a record at attach (checkout and grants).
const loadTimeout = 5 * time.Second

// attach puts player into the scene in's SceneId, creating a dungeon
// instance from in's Template when it is not running here yet.
func (h *Host) attach(l *link, id gamemesh.PlayerID, in *gamev1.LinkInput) {
	refuse := func(err error) { l.send(detached(id, in.GetSessionId(), err)) }
	h.mu.Lock()
	if h.stopping {
		h.mu.Unlock()
		refuse(gamemesh.Errorf(gamemesh.CodeUnavailable, "scene host stopping"))
		return
	}
	r := h.scenes[in.GetSceneId()]
	if r == nil && in.GetTemplate() != "" {
		var err error
		if r, err = h.startInstanceLocked(in.GetSceneId(), in.GetTemplate()); err != nil {
			h.mu.Unlock()
			refuse(err)
			return
		}
	}
	if r == nil {
		h.mu.Unlock()
		refuse(gamemesh.Errorf(gamemesh.CodeNotFound, "scene %.64q is not on this host", in.GetSceneId()))
		return
	}
	if p := h.players[id]; p != nil {
		h.mu.Unlock()
		h.reattach(p, l, r, in)
		return
	}
	if len(h.players) >= h.cfg.MaxHeld {
		h.mu.Unlock()
		refuse(gamemesh.Errorf(gamemesh.CodeUnavailable, "scene host full"))
		return
	}
	p := &held{id: id, session: in.GetSessionId(), link: l, state: stLoading, scene: r, loaded: make(chan struct{})}
	h.players[id] = p
	h.mu.Unlock()
	h.wg.Go(func() { h.load(p, r) })
}

// reattach handles an attach of a player already held: a session coming
// back before its last save (its record is still here, newer than the
// store's), or a gate re-attaching after its link broke.
func (h *Host) reattach(p *held, l *link, r *sceneRun, in *gamev1.LinkInput) {
	p.mu.Lock()
	p.session, p.link, p.wantOut = in.GetSessionId(), l, false
	switch {
	case p.state == stOffline && !p.checkingIn:
		p.state, p.scene = stLoading, r
		level, xp := p.level, p.xp
		p.mu.Unlock()
		h.enter(p, r, level, xp)
	case p.state == stIn && p.scene == r:
		p.mu.Unlock()
		r.q.push(queued{in: scene.Resync(p.id), p: p, then: func(r *sceneRun, _ *scene.Output, err *gamemesh.Error) {
			if err == nil {
				p.linkOf().send(r.enterPush(p))
			}
		}})
	default:
		p.mu.Unlock()
		l.send(detached(p.id, in.GetSessionId(), gamemesh.Errorf(gamemesh.CodeConflict, "player is busy on this host, retry")))
	}
}

// load checks the record out, applies pending grants and joins the scene.
func (h *Host) load(p *held, r *sceneRun) {
	ctx, cancel := context.WithTimeout(h.ctx, loadTimeout)
	defer cancel()
	var co gamev1.CheckoutPlayerResponse
	err := functions.Call(ctx, h.deps.Invoker, player.AppName, "checkout", &gamev1.CheckoutPlayerRequest{
		PlayerId: string(p.id), HostId: h.cfg.ID, LeaseMs: h.leaseMs(), RequestId: gamemesh.NewID()}, &co)
	if err != nil {
		h.log.Warn("cannot take the player's record", "player", p.id, "err", err)
		h.forget(p)
		p.markLoaded()
		p.linkOf().send(detached(p.id, p.sessionID(), gamemesh.Wrap(gamemesh.CodeUnavailable, err, "player record unavailable, retry")))
		return
	}
	p.mu.Lock()
	p.load(co.GetPlayer(), co.GetEpoch(), time.Now())
	level, xp, out := p.level, p.xp, p.wantOut
	p.mu.Unlock()
	p.markLoaded()
	if out {
		h.goOffline(p)
		return
	}
	if err := h.pullGrants(ctx, p); err != nil {
		h.log.Warn("pending grants not applied yet", "player", p.id, "err", err)
	}
	h.enter(p, r, level, xp)
}

// enter joins p into r.
func (h *Host) enter(p *held, r *sceneRun, level, xp int64) {
	r.join(p, level, xp, func(r *sceneRun, err *gamemesh.Error) {
		p.mu.Lock()
		if err != nil {
			l, session := p.link, p.session
			p.mu.Unlock()
			l.send(detached(p.id, session, err))
			h.goOffline(p)
			return
		}
		p.state, p.scene = stIn, r
		out, l := p.wantOut, p.link
		p.mu.Unlock()
		if out {
			h.leaveFor(p, r, nil)
			return
		}
		l.send(r.enterPush(p))
	})
}

// detach ends player's session here: it leaves its scene and its record is
// saved and freed.
func (h *Host) detach(id gamemesh.PlayerID, session string) {
	h.mu.Lock()
	p := h.players[id]
	h.mu.Unlock()
	if p == nil {
		return
	}
	p.mu.Lock()
	if p.session != session {
		p.mu.Unlock()
		return // a newer session took over
	}
	switch p.state {
	case stLoading, stMoving:
		p.wantOut = true
		p.mu.Unlock()
	case stIn:
		r := p.scene
		p.state = stMoving
		p.mu.Unlock()
		h.leaveFor(p, r, nil)
	default:
		p.mu.Unlock()
	}
}

// leaveFor takes p out of r; then (nil: the session ended) runs after.
func (h *Host) leaveFor(p *held, r *sceneRun, then func()) {
	p.mu.Lock()
	p.state = stMoving
	p.mu.Unlock()
	r.leave(p, func(r *sceneRun, v scene.EntityView, ok bool) {
		p.mu.Lock()
		if ok {
			p.progress(v)
		}
		p.scene = nil
		p.mu.Unlock()
		if then != nil {
			then()
			return
		}
		h.goOffline(p)
	})
}

// goOffline queues p's last save (checkin); the saver forgets it after.
func (h *Host) goOffline(p *held) {
	p.mu.Lock()
	p.state, p.scene, p.link, p.urgent = stOffline, nil, nil, true
	p.mu.Unlock()
	h.wakeSaver()
}

// request handles a client request of a player held here.
func (h *Host) request(l *link, id gamemesh.PlayerID, in *gamev1.LinkInput) {
	answer := func(err error, body []byte) { l.send(reply(id, in, err, body)) }
	h.mu.Lock()
	p := h.players[id]
	h.mu.Unlock()
	if p == nil && in.GetRoute() == RoutePlayerGet {
		// The player just left this host (a transfer the gate has not seen
		// yet): the player app answers from the store.
		h.wg.Go(func() { h.getFromStore(id, in, answer) })
		return
	}
	if p == nil {
		answer(gamemesh.Errorf(gamemesh.CodeNotFound, "player is not in a scene of this host"), nil)
		return
	}
	p.mu.Lock()
	state, r, session := p.state, p.scene, p.session
	p.mu.Unlock()
	switch {
	case session != in.GetSessionId():
		answer(gamemesh.Errorf(gamemesh.CodeNotFound, "session is not in a scene of this host"), nil)
		return
	case in.GetRoute() == RoutePlayerGet:
		h.wg.Go(func() { h.getPlayer(p, answer) })
		return
	case state != stIn:
		answer(gamemesh.Errorf(gamemesh.CodeUnavailable, "changing scene, retry"), nil)
		return
	case !h.enabled("scene"):
		answer(gamemesh.Errorf(gamemesh.CodeFeatureDisabled, "scene is switched off"), nil)
		return
	case len(in.GetBody()) > maxRequestBody:
		answer(gamemesh.Errorf(gamemesh.CodeBodyTooLarge, "body over %d bytes", maxRequestBody), nil)
		return
	}
	var si scene.Input
	switch in.GetRoute() {
	case "scene.move":
		var m gamev1.MoveRequest
		if proto.Unmarshal(in.GetBody(), &m) != nil {
			answer(gamemesh.Errorf(gamemesh.CodeBadRequest, "malformed body: expected a MoveRequest"), nil)
			return
		}
		si = scene.Move(id, m.GetX(), m.GetY(), m.GetClientTick())
	case "scene.cast":
		var m gamev1.CastRequest
		if proto.Unmarshal(in.GetBody(), &m) != nil {
			answer(gamemesh.Errorf(gamemesh.CodeBadRequest, "malformed body: expected a CastRequest"), nil)
			return
		}
		si = scene.Cast(id, scene.SkillID(m.GetSkill()), scene.EntityID(m.GetTarget()))
	case "scene.pickup":
		var m gamev1.PickupRequest
		if proto.Unmarshal(in.GetBody(), &m) != nil {
			answer(gamemesh.Errorf(gamemesh.CodeBadRequest, "malformed body: expected a PickupRequest"), nil)
			return
		}
		si = scene.Pickup(id, scene.EntityID(m.GetDrop()))
	case "scene.enter":
		h.enterDungeon(p, r, in, answer)
		return
	case "scene.leave":
		if r.static {
			answer(gamemesh.Errorf(gamemesh.CodeInvalidArgument, "not in a dungeon"), nil)
			return
		}
		h.transfer(p, r, in, &gamev1.SceneTransfer{SceneId: CityName}, answer)
		return
	default:
		answer(gamemesh.Errorf(gamemesh.CodeUnknownRoute, "unknown route %.64q", in.GetRoute()), nil)
		return
	}
	si.Seq = in.GetSeq()
	if !r.q.push(queued{in: si, p: p, route: in.GetRoute()}) {
		h.m.inputsDropped.Inc()
		answer(gamemesh.Errorf(gamemesh.CodeRateLimited, "too many inputs waiting for the next tick"), nil)
	}
}

// enterDungeon sends p to a new instance of the dungeon asked for.
func (h *Host) enterDungeon(p *held, r *sceneRun, in *gamev1.LinkInput, answer func(error, []byte)) {
	var m gamev1.EnterRequest
	if proto.Unmarshal(in.GetBody(), &m) != nil {
		answer(gamemesh.Errorf(gamemesh.CodeBadRequest, "malformed body: expected an EnterRequest"), nil)
		return
	}
	if !h.enabled("dungeon") {
		answer(gamemesh.Errorf(gamemesh.CodeFeatureDisabled, "dungeon is switched off"), nil)
		return
	}
	i := h.cfg.def(m.GetDungeon())
	if i < 0 || h.cfg.Scenes[i].Static {
		answer(gamemesh.Errorf(gamemesh.CodeNotFound, "no dungeon %.40q", m.GetDungeon()), nil)
		return
	}
	if !r.static {
		answer(gamemesh.Errorf(gamemesh.CodeInvalidArgument, "already in a dungeon: leave it first"), nil)
		return
	}
	ctx, cancel := context.WithTimeout(h.ctx, time.Second)
	host, addr := h.pickHost(ctx)
	cancel()
	inst := m.GetDungeon() + "-" + gamemesh.NewID()[:12]
	h.transfer(p, r, in, &gamev1.SceneTransfer{SceneId: inst, HostId: host, Addr: addr, Template: m.GetDungeon()}, answer)
}

// transfer moves p out of r to another scene: it leaves, its record is
// checked in (a scene change saves at once), then the gate is told where to
// attach it. If the record cannot be saved, p goes back into r and the
// request fails with UNAVAILABLE: nothing is lost.
func (h *Host) transfer(p *held, r *sceneRun, in *gamev1.LinkInput, to *gamev1.SceneTransfer, answer func(error, []byte)) {
	p.mu.Lock()
	if p.state != stIn {
		p.mu.Unlock()
		answer(gamemesh.Errorf(gamemesh.CodeConflict, "already changing scene"), nil)
		return
	}
	p.mu.Unlock()
	h.leaveFor(p, r, func() {
		h.wg.Go(func() {
			err := h.checkin(p)
			p.mu.Lock()
			l, session, out := p.link, p.session, p.wantOut
			p.mu.Unlock()
			if err != nil {
				answer(gamemesh.Wrap(gamemesh.CodeUnavailable, err, "cannot save the player record now: staying here"), nil)
				if out {
					h.goOffline(p)
					return
				}
				p.mu.Lock()
				p.state, p.scene = stLoading, r
				level, xp := p.level, p.xp
				p.mu.Unlock()
				h.enter(p, r, level, xp)
				return
			}
			h.forget(p)
			if out {
				return
			}
			body, _ := proto.Marshal(&gamev1.EnterResponse{SceneId: to.GetSceneId()})
			l.send(&gamev1.LinkOutput{Kind: gamev1.LinkOutKind_LINK_OUT_TRANSFER, PlayerId: string(p.id), SessionId: session, Transfer: to},
				reply(p.id, in, nil, body))
		})
	})
}

// checkin saves p's record and frees its lease, retrying for a few seconds.
func (h *Host) checkin(p *held) error {
	deadline := time.Now().Add(3 * time.Second)
	for {
		err := h.save(p, true)
		if err == nil || gamemesh.CodeOf(err) == gamemesh.CodePermissionDenied || time.Now().After(deadline) {
			return err
		}
		if !sleepCtx(h.ctx, 200*time.Millisecond) {
			return err
		}
	}
}

// startInstanceLocked starts a dungeon instance id of template. h.mu is held.
func (h *Host) startInstanceLocked(id, template string) (*sceneRun, error) {
	if !h.enabled("dungeon") {
		return nil, gamemesh.Errorf(gamemesh.CodeFeatureDisabled, "dungeon is switched off")
	}
	i := h.cfg.def(template)
	if i < 0 || h.cfg.Scenes[i].Static {
		return nil, gamemesh.Errorf(gamemesh.CodeNotFound, "no dungeon %.40q", template)
	}
	if !strings.HasPrefix(id, template+"-") || !gamemesh.ValidKeyPart(id) {
		return nil, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "instance id %.64q must be %s-<id>", id, template)
	}
	r, err := h.newRun(id, &h.cfg.Scenes[i])
	if err != nil {
		return nil, gamemesh.Wrap(gamemesh.CodeInternal, err, "cannot create the instance")
	}
	h.scenes[id] = r
	h.wg.Go(r.loop)
	h.wg.Go(func() {
		ctx, cancel := context.WithTimeout(h.ctx, time.Second)
		defer cancel()
		if _, err := h.deps.Directory.Claim(ctx, id, h.cfg.ID, h.cfg.ClaimTTL); err != nil {
			h.log.Warn("cannot record the instance in the scene directory", "scene", id, "err", err)
		}
	})
	h.log.Debug("dungeon instance started", "scene", id)
	return r, nil
}

// closeRun removes an empty instance unless a player is on its way in.
// It runs on r's goroutine.
func (h *Host) closeRun(r *sceneRun) bool {
	h.mu.Lock()
	for _, p := range h.players {
		p.mu.Lock()
		busy := p.scene == r
		p.mu.Unlock()
		if busy {
			h.mu.Unlock()
			return false
		}
	}
	delete(h.scenes, r.id)
	h.mu.Unlock()
	h.wg.Go(func() {
		ctx, cancel := context.WithTimeout(h.ctx, time.Second)
		defer cancel()
		_ = h.deps.Directory.Release(ctx, r.id, h.cfg.ID)
	})
	h.log.Debug("dungeon instance closed", "scene", r.id)
	return true
}

// RoutePlayerGet is served by the holding host while the player is online:
// it owns the record then, the store's copy may be a flush interval old.
const RoutePlayerGet = "player.get"

// getPlayer answers player.get from the record held here, once it is
// loaded, after applying the player's pending grants (when mail cannot be
// reached the record is answered as it is: the grants wait).
func (h *Host) getPlayer(p *held, answer func(error, []byte)) {
	select {
	case <-p.loaded:
	case <-time.After(loadTimeout):
		answer(gamemesh.Errorf(gamemesh.CodeUnavailable, "entering the world, retry"), nil)
		return
	case <-h.ctx.Done():
		answer(gamemesh.Errorf(gamemesh.CodeShuttingDown, "scene host stopping"), nil)
		return
	}
	p.mu.Lock()
	loaded := p.epoch != 0
	p.mu.Unlock()
	if !loaded {
		answer(gamemesh.Errorf(gamemesh.CodeUnavailable, "player record unavailable, retry"), nil)
		return
	}
	ctx, cancel := context.WithTimeout(h.ctx, saveTimeout)
	err := h.pullGrants(ctx, p)
	cancel()
	if err != nil {
		h.log.Debug("player.get: grants not applied now", "player", p.id, "err", err)
	}
	p.mu.Lock()
	rec := p.record()
	p.mu.Unlock()
	body, err := proto.Marshal(&gamev1.GetPlayerResponse{Player: rec})
	answer(err, body)
}

// getFromStore answers player.get of a player not held here through the
// player app (which applies its grants, or answers the stored record when
// another host holds it).
func (h *Host) getFromStore(id gamemesh.PlayerID, in *gamev1.LinkInput, answer func(error, []byte)) {
	ctx, cancel := context.WithTimeout(h.ctx, gamemesh.DefaultDeadline)
	defer cancel()
	body, err := h.deps.Invoker.Invoke(ctx, gamemesh.Request{App: player.AppName, Method: "get", Player: id,
		ID: in.GetSessionId() + ":" + strconv.FormatUint(in.GetSeq(), 10), Body: in.GetBody()})
	answer(err, body)
}
