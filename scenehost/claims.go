package scenehost

import (
	"context"
	"strconv"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/directory"
)

// claimLoop renews the host's scenes in the directory every third of the
// claim TTL, and takes static scenes nobody holds.
func (h *Host) claimLoop() {
	t := time.NewTicker(h.cfg.ClaimTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-t.C:
			h.claimRound(h.ctx)
		}
	}
}

// claimRound claims the static scenes (starting those won) and renews the
// running instances. A scene another host now holds (this host stalled past
// its TTL) is halted here and its players re-homed. A directory that cannot
// be reached changes nothing: what runs keeps running.
func (h *Host) claimRound(ctx context.Context) {
	h.mu.Lock()
	if h.stopping {
		h.mu.Unlock()
		return
	}
	names := append([]string(nil), h.cfg.Static...)
	for id, r := range h.scenes {
		if !r.static {
			names = append(names, id)
		}
	}
	h.mu.Unlock()
	for _, name := range names {
		cctx, cancel := context.WithTimeout(ctx, h.cfg.ClaimTTL/3)
		owner, err := h.deps.Directory.Claim(cctx, name, h.cfg.ID, h.cfg.ClaimTTL)
		cancel()
		if err != nil {
			h.log.Warn("scene directory unreachable: keeping the scenes as they are", "scene", name, "err", err)
			continue
		}
		h.mu.Lock()
		r := h.scenes[name]
		switch {
		case owner == h.cfg.ID && r == nil && !h.stopping:
			if i := h.cfg.def(name); i >= 0 && h.cfg.Scenes[i].Static {
				if run, err := h.newRun(name, &h.cfg.Scenes[i]); err == nil {
					h.scenes[name] = run
					h.wg.Go(run.loop)
					h.log.Info("scene claimed", "scene", name)
				}
			}
		case owner != h.cfg.ID && r != nil:
			delete(h.scenes, name)
			h.mu.Unlock()
			h.log.Warn("scene lost to another host: re-homing its players", "scene", name, "owner", owner)
			h.evict(r)
			continue
		}
		h.mu.Unlock()
	}
}

// evict halts r and sends its players away: each one's record is checked in
// first, then its gate re-homes it on the scene's new owner.
func (h *Host) evict(r *sceneRun) {
	h.halt(r)
	for _, p := range h.heldPlayers() {
		p.mu.Lock()
		if p.scene != r {
			p.mu.Unlock()
			continue
		}
		l, session := p.link, p.session
		p.state, p.scene = stOffline, nil
		p.mu.Unlock()
		h.wg.Go(func() {
			err := h.checkin(p)
			if err == nil || gamemesh.CodeOf(err) == gamemesh.CodePermissionDenied {
				h.forget(p)
			}
			l.send(detached(p.id, session, gamemesh.Errorf(gamemesh.CodeUnavailable, "scene moved to another host")))
		})
	}
}

// pickHost returns the least-loaded live scene host for a new instance (this
// one when the roster cannot tell).
func (h *Host) pickHost(ctx context.Context) (id, addr string) {
	id, addr = h.cfg.ID, h.Addr()
	if h.deps.Roster == nil {
		return id, addr
	}
	members, err := h.deps.Roster.Members(ctx, directory.KindScene)
	if err != nil {
		return id, addr
	}
	best := h.Load()
	for _, m := range members {
		if m.Addr == "" || m.ID == h.cfg.ID {
			continue
		}
		load, err := strconv.Atoi(m.Info[directory.InfoLoad])
		if err != nil {
			continue
		}
		if load < best {
			best, id, addr = load, m.ID, m.Addr
		}
	}
	return id, addr
}
