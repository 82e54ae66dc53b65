package scenehost

import (
	"strconv"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/scene"
)

// Push routes a host sends to clients.
const (
	PushEnter  = "scene.enter"
	PushUpdate = "scene.update"
	PushLost   = "scene.lost"
)

// sceneRun is one running scene: its goroutine owns s and members.
type sceneRun struct {
	h      *Host
	id     string
	def    *SceneDef
	static bool
	runID  string // names this run in event ids
	s      *scene.Scene
	q      *inputQueue
	period time.Duration

	members    map[gamemesh.PlayerID]*held // scene goroutine only
	emptySince time.Time
	// hold keeps the host inputs (joins, leaves) a pass took, for the next Step.
	hold []queued

	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
	// final is filled by the goroutine as it ends: the last state of its players.
	final []scene.EntityView
}

func (h *Host) newRun(id string, def *SceneDef) (*sceneRun, error) {
	cfg := def.Config
	cfg.ID = id
	cfg.TickMillis = int64(1000 / h.cfg.TickRate)
	cfg.Rules = h.rules
	cfg.Seed = h.cfg.Seed
	if cfg.Seed == 0 {
		cfg.Seed = randSeed()
	}
	s, err := scene.New(cfg)
	if err != nil {
		return nil, err
	}
	return &sceneRun{
		h: h, id: id, def: def, static: def.Static, runID: id + "-" + strconv.FormatUint(cfg.Seed, 36), s: s,
		q:       newInputQueue(h.cfg.QueuePerScene, h.cfg.QueuePerPlayer),
		period:  time.Second / time.Duration(h.cfg.TickRate),
		members: map[gamemesh.PlayerID]*held{}, emptySince: time.Now(),
		stop: make(chan struct{}), done: make(chan struct{}),
	}, nil
}

// minPass is the shortest gap between two input passes: inputs arriving
// together are applied and answered together.
const minPass = 2 * time.Millisecond

// loop ticks the scene until stop. Between ticks, client inputs are applied
// as they arrive (scene.Scene.Apply, exactly as the next tick would) and
// answered at once, so a realtime call does not wait for the tick; what
// they cause (movement, combat, updates) comes with the next tick.
func (r *sceneRun) loop() {
	defer close(r.done)
	t := time.NewTicker(r.period)
	defer t.Stop()
	start := time.Now()
	var buf []queued
	var inputs []scene.Input
	var passC <-chan time.Time
	var lastPass time.Time
	for {
		select {
		case <-r.stop:
			r.finish()
			return
		case <-r.q.wake:
			if passC == nil {
				passC = time.After(max(minPass-time.Since(lastPass), 0))
			}
		case <-passC:
			passC, lastPass = nil, time.Now()
			buf = r.pass(buf)
		case now := <-t.C:
			tick := uint64(now.Sub(start)/r.period) + 1
			if tick <= r.s.Tick() {
				tick = r.s.Tick() + 1
			}
			buf, inputs = r.step(tick, buf, inputs)
			r.h.m.tickDone(time.Since(now), r.period)
			if r.closeIfEmpty(now) {
				return
			}
		}
	}
}

// step runs one tick: the queued inputs (client ones refused while the
// scene system is switched off), then the outputs to the gates.
func (r *sceneRun) step(tick uint64, buf []queued, inputs []scene.Input) ([]queued, []scene.Input) {
	items := r.q.take(buf)
	if len(r.hold) > 0 {
		items = append(append(make([]queued, 0, len(r.hold)+len(items)), r.hold...), items...)
		clear(r.hold)
		r.hold = r.hold[:0]
	}
	sceneOn := r.h.enabled("scene")
	r.s.SetPvP(r.def.PvP && r.h.enabled("pvp"))
	inputs = inputs[:0]
	idx := make([]int, len(items)) // item → input index, -1 when refused before the tick
	outs := map[*link][]*gamev1.LinkOutput{}
	for i, it := range items {
		if it.then == nil && !sceneOn {
			idx[i] = -1
			outs[it.p.linkOf()] = append(outs[it.p.linkOf()], reply(it.p.id, r.reqOf(it), gamemesh.Errorf(gamemesh.CodeFeatureDisabled, "scene is switched off"), nil))
			continue
		}
		idx[i] = len(inputs)
		inputs = append(inputs, it.in)
	}
	out := r.s.Step(tick, inputs)
	errs := make(map[int]*gamemesh.Error, len(out.Errors))
	for _, e := range out.Errors {
		errs[e.Index] = e.Err
	}
	if out.RulesErr != nil {
		r.h.rulesFailed(r.id, out.RulesErr)
	}
	if out.Dropped > 0 {
		r.h.m.inputsDropped.Add(float64(out.Dropped))
	}
	var ack []byte
	for i, it := range items {
		if idx[i] < 0 {
			continue
		}
		err := errs[idx[i]]
		if it.then != nil {
			it.then(r, &out, err)
			continue
		}
		var e error
		if err != nil {
			e = err
		} else if ack == nil {
			ack, _ = proto.Marshal(&gamev1.SceneAck{Tick: tick})
		}
		outs[it.p.linkOf()] = append(outs[it.p.linkOf()], reply(it.p.id, r.reqOf(it), e, ack))
	}
	r.h.applyOutput(r, &out)
	for _, u := range out.Updates {
		p := r.members[u.Player]
		if p == nil {
			continue
		}
		body, err := proto.Marshal(u.Msg)
		if err != nil {
			r.h.log.Error("cannot encode a scene update", "scene", r.id, "err", err)
			continue
		}
		outs[p.linkOf()] = append(outs[p.linkOf()], &gamev1.LinkOutput{Kind: gamev1.LinkOutKind_LINK_OUT_PUSH, PlayerId: string(u.Player),
			SessionId: p.sessionID(), Route: PushUpdate, Body: body})
	}
	for l, o := range outs {
		if !l.send(o...) && l != nil {
			r.h.m.linkOverflow.Inc()
		}
	}
	clear(items)
	return items, inputs
}

// pass applies the client inputs queued since the last pass (or tick) now
// and answers them; host inputs wait for the next Step.
func (r *sceneRun) pass(buf []queued) []queued {
	items := r.q.take(buf)
	if len(items) == 0 {
		return items
	}
	sceneOn := r.h.enabled("scene")
	r.s.SetPvP(r.def.PvP && r.h.enabled("pvp"))
	outs := map[*link][]*gamev1.LinkOutput{}
	var client []scene.Input
	var idx []int
	for i, it := range items {
		switch {
		case it.then != nil:
			r.hold = append(r.hold, it)
		case !sceneOn:
			outs[it.p.linkOf()] = append(outs[it.p.linkOf()], reply(it.p.id, r.reqOf(it), gamemesh.Errorf(gamemesh.CodeFeatureDisabled, "scene is switched off"), nil))
		default:
			idx = append(idx, i)
			client = append(client, it.in)
		}
	}
	if len(client) > 0 {
		errs := map[int]*gamemesh.Error{}
		for _, e := range r.s.Apply(client) {
			errs[e.Index] = e.Err
		}
		ack, _ := proto.Marshal(&gamev1.SceneAck{Tick: r.s.Tick() + 1})
		for j, i := range idx {
			it := items[i]
			var err error
			if e := errs[j]; e != nil {
				err = e
				if e.Code == gamemesh.CodeRateLimited {
					r.h.m.inputsDropped.Inc()
				}
			}
			outs[it.p.linkOf()] = append(outs[it.p.linkOf()], reply(it.p.id, r.reqOf(it), err, ack))
		}
	}
	for l, o := range outs {
		if !l.send(o...) && l != nil {
			r.h.m.linkOverflow.Inc()
		}
	}
	clear(items)
	return items
}

// reqOf rebuilds the link input a queued request answers.
func (r *sceneRun) reqOf(it queued) *gamev1.LinkInput {
	return &gamev1.LinkInput{Seq: it.in.Seq, Route: it.route, SessionId: it.p.sessionID()}
}

// closeIfEmpty closes a dungeon instance that has been empty for a while.
func (r *sceneRun) closeIfEmpty(now time.Time) bool {
	if r.static {
		return false
	}
	if r.s.Players() > 0 || r.q.len() > 0 {
		r.emptySince = now
		return false
	}
	if now.Sub(r.emptySince) < r.h.cfg.InstanceGrace {
		return false
	}
	if !r.h.closeRun(r) {
		r.emptySince = now
		return false
	}
	return true
}

// finish runs a last tick, so that the inputs answered since the previous
// one (a pickup acknowledged to its player) reach the records, and records
// the last state of the players for the host's final saves.
func (r *sceneRun) finish() {
	out := r.s.Step(r.s.Tick()+1, nil)
	r.h.applyOutput(r, &out)
	for id := range r.members {
		if v, ok := r.s.Player(id); ok {
			r.final = append(r.final, v)
		}
	}
}

// join queues p's entry; done runs on the scene goroutine after the tick.
func (r *sceneRun) join(p *held, level int64, xp int64, done func(r *sceneRun, err *gamemesh.Error)) {
	r.q.push(queued{in: scene.JoinAtSpawn(p.id, int32(min(level, 1000)), xp), p: p,
		then: func(r *sceneRun, _ *scene.Output, err *gamemesh.Error) {
			if err == nil {
				r.members[p.id] = p
			}
			done(r, err)
		}})
}

// leave queues p's exit; done gets its last state.
func (r *sceneRun) leave(p *held, done func(r *sceneRun, last scene.EntityView, ok bool)) {
	r.q.push(queued{in: scene.Leave(p.id), p: p, then: func(r *sceneRun, out *scene.Output, err *gamemesh.Error) {
		delete(r.members, p.id)
		for _, v := range out.Left {
			if v.Player == p.id {
				done(r, v, true)
				return
			}
		}
		done(r, scene.EntityView{}, false)
	}})
}

// enterPush is the "scene.enter" push of player p in r (after its join).
func (r *sceneRun) enterPush(p *held) *gamev1.LinkOutput {
	body, _ := proto.Marshal(r.s.Info(p.id))
	return &gamev1.LinkOutput{Kind: gamev1.LinkOutKind_LINK_OUT_PUSH, PlayerId: string(p.id), SessionId: p.sessionID(), Route: PushEnter, Body: body}
}
