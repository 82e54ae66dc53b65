package gate

import (
	"time"
)

// queueReportEvery is how often queued clients are told their new position
// (only those whose position changed, but every one of them each
// QueueKeepAlive).
const queueReportEvery = 250 * time.Millisecond

// wakeAdmission tells the admission loop that a slot or a queued login may be waiting.
func (g *Gate) wakeAdmission() {
	select {
	case g.admitWake <- struct{}{}:
	default:
	}
}

// admissionLoop admits queued logins from the head of the queue at
// AdmissionRate while slots are free, and reports positions to queued clients.
func (g *Gate) admissionLoop() {
	defer g.wg.Done()
	lim := g.admitLim
	tick := time.NewTicker(queueReportEvery)
	defer tick.Stop()
	for {
		select {
		case <-g.stopCtx.Done():
			return
		case now := <-tick.C:
			g.reportQueue(now)
		case <-g.admitWake:
		}
		for g.canAdmit() {
			if err := lim.Wait(g.stopCtx); err != nil {
				return
			}
			s := g.popQueue()
			if s == nil {
				break
			}
			g.activate(s)
		}
	}
}

func (g *Gate) canAdmit() bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return !g.stopping && g.queue.Len() > 0 && len(g.online) < g.limits.Load().MaxOnline
}

// popQueue moves the head of the queue into a free slot.
func (g *Gate) popQueue() *session {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopping || g.queue.Len() == 0 || len(g.online) >= g.limits.Load().MaxOnline {
		return nil
	}
	s := g.queue.Remove(g.queue.Front()).(*session)
	if g.queued[s.player] == s.elem {
		delete(g.queued, s.player)
	}
	s.elem = nil
	g.queueDirty = true
	g.online[s.player] = s
	return s
}

// reportQueue sends a QUEUE frame to each queued client whose position
// changed, and to every queued client once QueueKeepAlive has passed since
// the last such round, changed or not: it keeps alive clients that wait
// without heartbeats, and a write to a dead socket fails and frees its place.
func (g *Gate) reportQueue(now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	all := now.Sub(g.queueAliveAt) >= g.cfg.QueueKeepAlive
	if all {
		g.queueAliveAt = now
	}
	if !g.queueDirty && !all {
		return
	}
	g.queueDirty = false
	n := int64(g.queue.Len())
	pos := int64(0)
	for el := g.queue.Front(); el != nil; el = el.Next() {
		pos++
		s := el.Value.(*session)
		if s.lastPos != pos || all {
			s.lastPos = pos
			s.send(queueStatus(pos, n))
		}
	}
}
