package scene

import gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"

// synced is the state of an entity as observers get it: the synced fields,
// positions in quanta.
type synced struct {
	id               EntityID
	x, y             int32
	hp, maxHP, level int32
	facing           uint8
	state            State
}

// known is what an observer was last sent about one entity.
type known struct {
	e    *entity
	sent synced
}

// observer is a player's view: what it was sent, in the order of its last
// visible set.
type observer struct {
	known, spare []known
	ackSent      uint64
	selfSent     bool
}

// reset forgets the view: the next update is a full snapshot with self_id.
func (o *observer) reset() {
	clear(o.known)
	o.known = o.known[:0]
	o.ackSent = 0
	o.selfSent = false
}

// quantize maps a coordinate to wire quanta, rounding to nearest.
func (s *Scene) quantize(v Fixed) int32 {
	q := int64(s.cfg.Quantum)
	return int32((int64(v) + q/2) / q)
}

// snapshot is e's synced state this tick.
func (s *Scene) snapshot(e *entity) synced {
	return synced{id: e.id, x: s.quantize(e.pos.X), y: s.quantize(e.pos.Y), hp: e.hp, maxHP: e.maxHP, level: e.level, facing: e.facing, state: e.state}
}

// sync computes every player's view and appends to the output one update per
// player whose view changed.
func (s *Scene) sync() {
	for _, e := range s.order {
		e.snap = s.snapshot(e)
	}
	for _, o := range s.order {
		if o.kind != KindPlayer {
			continue
		}
		s.visBuf = s.visible(o, s.visBuf)
		if msg := s.diff(o, s.visBuf); msg != nil {
			s.out.Updates = append(s.out.Updates, Update{Player: o.player, Entity: o.id, Msg: msg})
		}
	}
}

// diff compares the visible set with what o was sent: entities new to it
// enter with their full state, entities gone leave by id, and the others send
// the fields that changed since o last heard of them, as differences. It
// returns nil when o has nothing new.
//
// No sorting: each entity o knew is stamped with this diff's mark and its
// index in o's view, so membership is one compare; entities seen again are
// re-stamped, and the known ones left unstamped have left.
func (s *Scene) diff(o *entity, vis []*entity) *gamev1.SceneUpdate {
	ob := o.obs
	a := &s.slab
	enters, leaves, updates := a.enterBuf[:0], a.leaveBuf[:0], a.updateBuf[:0]
	s.mark += 2
	knownMark, seenMark := s.mark, s.mark+1
	old := ob.known
	for j := range old {
		old[j].e.mark, old[j].e.markIdx = knownMark, int32(j)
	}
	next := ob.spare[:0]
	for _, e := range vis {
		if e.mark == knownMark {
			if was := old[e.markIdx].sent; e.snap != was {
				updates = append(updates, s.deltaOf(e, was))
			}
		} else {
			enters = append(enters, s.stateOf(e))
		}
		e.mark = seenMark
		next = append(next, known{e: e, sent: e.snap})
	}
	for j := range old {
		if old[j].e.mark != seenMark {
			leaves = append(leaves, uint32(old[j].sent.id))
		}
		old[j].e = nil
	}
	ob.spare, ob.known = old[:0], next
	a.enterBuf, a.leaveBuf, a.updateBuf = enters, leaves, updates

	var ack uint64
	if o.clientTick != ob.ackSent {
		ack = o.clientTick
		ob.ackSent = ack
	}
	var self uint32
	if !ob.selfSent {
		self = uint32(o.id)
		ob.selfSent = true
	}
	if len(enters) == 0 && len(leaves) == 0 && len(updates) == 0 && ack == 0 && self == 0 {
		return nil
	}
	msg := a.update()
	msg.Tick = s.tick
	msg.AckClientTick = ack
	msg.SelfId = self
	msg.Enters = a.keepStates(enters)
	msg.Leaves = a.keepIDs(leaves)
	msg.Updates = a.keepDeltas(updates)
	return msg
}

// stateOf returns e's full state this tick. Every observer it enters gets
// the same message.
func (s *Scene) stateOf(e *entity) *gamev1.EntityState {
	if e.stateTick != s.tick || e.stateMsg == nil {
		e.stateMsg = s.slab.state()
		fillState(e.stateMsg, e, e.snap)
		e.stateTick = s.tick
	}
	return e.stateMsg
}

// deltaOf returns e's delta from was to now. Observers that last heard the
// same thing of e (all that saw it last tick, usually) share one message.
func (s *Scene) deltaOf(e *entity, was synced) *gamev1.EntityDelta {
	if e.deltaTick != s.tick || e.deltaFrom != was {
		e.deltaMsg = fillDelta(s.slab.delta(), e.snap, was)
		e.deltaTick, e.deltaFrom = s.tick, was
	}
	return e.deltaMsg
}

func fillState(st *gamev1.EntityState, e *entity, k synced) {
	st.Id = uint32(e.id)
	st.Kind = gamev1.EntityKind(e.kind)
	st.TypeId = e.typ
	st.PlayerId = string(e.player)
	st.X, st.Y = k.x, k.y
	st.Facing = uint32(k.facing)
	st.Hp, st.MaxHp, st.Level = k.hp, k.maxHP, k.level
	st.Status = gamev1.EntityStatus(k.state)
	st.Count = e.count
}

func fillDelta(d *gamev1.EntityDelta, now, was synced) *gamev1.EntityDelta {
	d.Id = uint32(now.id)
	d.Dx, d.Dy = now.x-was.x, now.y-was.y
	d.Dfacing = int32(int8(now.facing - was.facing))
	d.Dhp, d.DmaxHp, d.Dlevel = now.hp-was.hp, now.maxHP-was.maxHP, now.level-was.level
	if now.state != was.state {
		d.Status = gamev1.EntityStatus(now.state)
	}
	return d
}

// fullSnapshot is what o would be sent without delta encoding: the full
// state of everything it sees (the baseline of the sync benchmark).
func (s *Scene) fullSnapshot(o *entity) *gamev1.SceneUpdate {
	vis := s.visible(o, nil)
	msg := &gamev1.SceneUpdate{Tick: s.tick, Enters: make([]*gamev1.EntityState, len(vis))}
	for i, e := range vis {
		msg.Enters[i] = &gamev1.EntityState{}
		fillState(msg.Enters[i], e, s.snapshot(e))
	}
	return msg
}
