package scenehost

import (
	"context"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	"github.com/gamemesh/gamemesh/functions/player"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// Write-behind of held records (see the package documentation).
const (
	saverPoll   = 500 * time.Millisecond
	saveTimeout = 2 * time.Second
	maxBackoff  = 5 * time.Second
)

// flushInterval is the live write-behind interval.
func (h *Host) flushInterval() time.Duration {
	if h.deps.FlushInterval != nil {
		if d := h.deps.FlushInterval(); d > 0 {
			return d
		}
	}
	return DefaultFlushInterval
}

// leaseMs is the lease asked of the player app: three flush intervals, so a
// host that saves on time never lapses, and one killed lapses soon after.
func (h *Host) leaseMs() int64 {
	return min(3*h.flushInterval(), time.Hour).Milliseconds()
}

// saverLoop runs flush rounds until the host stops.
func (h *Host) saverLoop() {
	t := time.NewTicker(saverPoll)
	defer t.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-t.C:
		case <-h.wake:
		}
		h.flushRound()
	}
}

// flushRound saves every record that is due: urgent ones (logout, grants),
// and every one whose last save is a flush interval old (dirty or not: the
// save renews the lease). Failed saves stay pending and are retried with a
// backoff; offline players are forgotten once their checkin succeeded.
func (h *Host) flushRound() {
	interval := h.flushInterval()
	pending := 0
	for _, p := range h.heldPlayers() {
		if h.ctx.Err() != nil {
			return
		}
		now := time.Now()
		p.mu.Lock()
		state := p.state
		due := state == stOffline || p.urgent || now.Sub(p.lastSave) >= interval
		wait := now.Before(p.nextTry)
		if p.dirty() || state == stOffline {
			pending++
		}
		p.mu.Unlock()
		if state == stLoading || state == stMoving || !due || wait {
			continue
		}
		err := h.save(p, state == stOffline)
		if state == stOffline && (err == nil || gamemesh.CodeOf(err) == gamemesh.CodePermissionDenied) {
			h.forget(p)
		}
		if err == nil {
			pending--
		}
	}
	h.m.savesPending.Set(float64(max(pending, 0)))
}

// save writes p's record under its lease (release: checkin). One save of a
// player is in flight at a time, seq growing. PERMISSION_DENIED means the
// lease is lost: p is dropped (another host holds the player now).
func (h *Host) save(p *held, release bool) error {
	p.saveMu.Lock()
	defer p.saveMu.Unlock()
	p.mu.Lock()
	if p.epoch == 0 {
		p.mu.Unlock()
		return gamemesh.Errorf(gamemesh.CodeUnavailable, "record not loaded")
	}
	p.seq++
	req := &gamev1.SavePlayerRequest{PlayerId: string(p.id), HostId: h.cfg.ID, Epoch: p.epoch, Seq: p.seq, State: p.snapshot(), LeaseMs: h.leaseMs()}
	ver := p.version
	if release {
		p.checkingIn = true
	}
	p.mu.Unlock()
	method := "save"
	if release {
		method = "checkin"
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(h.ctx), saveTimeout)
	defer cancel()
	err := functions.Call(ctx, h.deps.Invoker, player.AppName, method, req, new(gamev1.SavePlayerResponse))
	now := time.Now()
	p.mu.Lock()
	if release {
		p.checkingIn = false
	}
	if err == nil {
		p.savedVer = max(p.savedVer, ver)
		p.lastSave, p.urgent, p.failures, p.nextTry = now, false, 0, time.Time{}
		acks := p.unacked
		p.unacked = nil
		p.mu.Unlock()
		h.m.saves.WithLabelValues("ok").Inc()
		h.ack(p.id, acks)
		return nil
	}
	if gamemesh.CodeOf(err) == gamemesh.CodePermissionDenied {
		p.mu.Unlock()
		h.m.saves.WithLabelValues("lease_lost").Inc()
		h.leaseLost(p)
		return err
	}
	p.failures++
	p.nextTry = now.Add(min(time.Duration(p.failures)*saverPoll, maxBackoff))
	p.mu.Unlock()
	h.m.saves.WithLabelValues("failed").Inc()
	if p.failures == 1 || p.failures%20 == 0 {
		h.log.Warn("saving a player record failed; kept in memory and retried", "player", p.id, "failures", p.failures, "err", err)
	}
	return err
}

// leaseLost drops a player whose record another host took over.
func (h *Host) leaseLost(p *held) {
	h.log.Warn("player record taken over by another host: dropping the player here", "player", p.id)
	h.forget(p)
	p.mu.Lock()
	r, state, l, session := p.scene, p.state, p.link, p.session
	p.state, p.link = stOffline, nil
	p.mu.Unlock()
	if state == stIn && r != nil {
		r.leave(p, func(*sceneRun, sceneView, bool) {})
	}
	l.send(detached(p.id, session, gamemesh.Errorf(gamemesh.CodeKicked, "your character is held elsewhere")))
}

// ack tells mail the grants ids are applied (in a saved record). A failure
// is harmless: the grants stay pending, are seen as already applied at the
// next pull, and acknowledged then.
func (h *Host) ack(id gamemesh.PlayerID, grants []string) {
	if len(grants) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(h.ctx), saveTimeout)
	defer cancel()
	if err := functions.Call(ctx, h.deps.Invoker, "mail", "ackGrants", &gamev1.AckGrantsRequest{PlayerId: string(id), GrantIds: grants}, new(gamev1.AckGrantsResponse)); err != nil {
		h.log.Warn("acknowledging grants failed; they are acknowledged at the next pull", "player", id, "err", err)
	}
}
