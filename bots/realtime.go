package bots

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/scene"
)

// Realtime routes and pushes the bots use (see package scenehost).
const (
	RouteSceneMove   = "scene.move"
	RouteSceneCast   = "scene.cast"
	RouteScenePickup = "scene.pickup"
	RouteSceneEnter  = "scene.enter"
	RouteSceneLeave  = "scene.leave"
	pushSceneEnter   = "scene.enter"
	pushSceneUpdate  = "scene.update"
	pushSceneLost    = "scene.lost"
)

// The shipped world the bots play in (scenehost.DefaultScenes).
const (
	cityScene     = "city"
	dungeon       = "crypt"
	skillStrike   = 1
	strikeRange   = 2.5 // metres, a little under the skill's 3 m
	strikeEvery   = 550 * time.Millisecond
	pickupRange   = 1.8
	lookFor       = 25 // metres: monsters and drops farther are ignored
	wanderStep    = 6
	dungeonLinger = 40 * time.Second
)

// SceneMix is the realtime part of a run: each bot moves about MovesPerSec
// times a second, fights the nearest monster, picks up drops, and enters a
// dungeon every DungeonEvery (jittered), leaving it once cleared.
type SceneMix struct {
	// Off disables the realtime play (a backend without scene hosts).
	Off bool
	// MovesPerSec is each bot's action rate (default 5).
	MovesPerSec float64
	// DungeonEvery is the mean interval between dungeon entries of a bot
	// (default 60 s; negative: never).
	DungeonEvery time.Duration
}

func (m SceneMix) withDefaults() SceneMix {
	if m.MovesPerSec <= 0 {
		m.MovesPerSec = 5
	}
	if m.DungeonEvery == 0 {
		m.DungeonEvery = time.Minute
	}
	return m
}

// SceneStats is the realtime part of the report.
type SceneStats struct {
	// Enters counts scene.enter pushes (the city at login, dungeons, returns).
	Enters int64 `json:"enters"`
	// Dungeons counts dungeon entries.
	Dungeons int64 `json:"dungeons"`
	// Updates counts scene.update pushes.
	Updates int64 `json:"updates"`
	// Lost counts scene.lost pushes (a scene host went away).
	Lost int64 `json:"lost"`
	// Refused counts game-level refusals answered as expected (a target that
	// died meanwhile, a skill on cooldown, a drop someone else owns).
	Refused int64 `json:"refused"`
}

type sceneCounters struct{ enters, dungeons, updates, lost, refused atomic.Int64 }

func (c *sceneCounters) report() *SceneStats {
	return &SceneStats{Enters: c.enters.Load(), Dungeons: c.dungeons.Load(), Updates: c.updates.Load(),
		Lost: c.lost.Load(), Refused: c.refused.Load()}
}

// botScene is one bot's realtime play: the pushes of its scene and the view
// it rebuilds from them.
type botScene struct {
	pushes chan scenePush
	view   *scene.View
	// waiting: a scene change is under way (or the host was lost); no input
	// until the next scene.enter.
	waiting   bool
	enteredAt time.Time
	nextCast  time.Time
	nextDung  time.Time
	rng       *rand.Rand // the scene goroutine's own
}

type scenePush struct {
	route string
	body  []byte
}

func newBotScene(seed int64, index int) *botScene {
	return &botScene{pushes: make(chan scenePush, 1024), rng: rand.New(rand.NewPCG(uint64(seed), uint64(index)^0x5ce9e))}
}

// jitter returns d scaled by a random factor in [0.5, 1.5).
func (s *botScene) jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.5 + s.rng.Float64()))
}

// push takes the scene pushes of the bot's connection; false for others.
func (s *botScene) push(route string, body []byte) bool {
	if !strings.HasPrefix(route, "scene.") {
		return false
	}
	select {
	case s.pushes <- scenePush{route, body}:
	default: // the bot lags: the view resyncs at the next scene.enter
	}
	return true
}

// startScene runs the bot's realtime play until play ends or the session
// does; the returned stop waits for it.
func (b *bot) startScene(abort, play context.Context) (stop func()) {
	if b.cfg.Scene.Off {
		return func() {}
	}
	ctx, cancel := context.WithCancel(play)
	var wg sync.WaitGroup
	wg.Go(func() { b.sceneLoop(abort, ctx) })
	return func() {
		cancel()
		wg.Wait()
	}
}

func (b *bot) sceneLoop(abort, ctx context.Context) {
	s := b.rt
	s.view, s.waiting = nil, false
	mix := b.cfg.Scene
	s.nextDung = time.Now().Add(s.jitter(mix.DungeonEvery))
	t := time.NewTicker(time.Duration(float64(time.Second) / mix.MovesPerSec))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.conn.Done():
			return
		case ps := <-s.pushes:
			b.applyScene(ps)
			continue
		case <-t.C:
		}
		for drained := false; !drained; {
			select {
			case ps := <-s.pushes:
				b.applyScene(ps)
			default:
				drained = true
			}
		}
		if s.view == nil || s.waiting {
			continue
		}
		b.act(abort)
	}
}

func (b *bot) applyScene(ps scenePush) {
	s, c := b.rt, &b.rec.scene
	switch ps.route {
	case pushSceneEnter:
		var info gamev1.SceneInfo
		if proto.Unmarshal(ps.body, &info) != nil {
			return
		}
		s.view, s.waiting, s.enteredAt = scene.NewView(&info), false, time.Now()
		c.enters.Add(1)
	case pushSceneUpdate:
		var u gamev1.SceneUpdate
		if s.view == nil || proto.Unmarshal(ps.body, &u) != nil {
			return
		}
		s.view.Apply(&u)
		c.updates.Add(1)
	case pushSceneLost:
		s.waiting = true
		c.lost.Add(1)
	}
}

// act does one thing: enter or leave a dungeon when it is time, cast on a
// monster in reach, pick up a drop in reach, or walk toward one (or wander).
func (b *bot) act(abort context.Context) {
	s := b.rt
	v := s.view
	me := v.Me()
	if me == nil || me.Status == scene.StateDead {
		return
	}
	now := time.Now()
	inDungeon := v.Info.GetSceneId() != cityScene
	monster := v.Nearest(scene.KindMonster, func(e *scene.ViewEntity) bool { return e.Status != scene.StateDead && e.HP > 0 })
	switch {
	case !inDungeon && b.cfg.Scene.DungeonEvery > 0 && now.After(s.nextDung):
		s.nextDung = now.Add(s.jitter(b.cfg.Scene.DungeonEvery))
		if b.sceneCall(abort, RouteSceneEnter, &gamev1.EnterRequest{Dungeon: dungeon}, &gamev1.EnterResponse{}, gamemesh.CodeFeatureDisabled) == nil {
			s.waiting = true
			b.rec.scene.dungeons.Add(1)
		}
		return
	case inDungeon && (monster == nil || now.Sub(s.enteredAt) > dungeonLinger):
		if b.sceneCall(abort, RouteSceneLeave, &gamev1.LeaveRequest{}, &gamev1.EnterResponse{}) == nil {
			s.waiting = true
		}
		return
	}
	if d := v.Nearest(scene.KindDrop, nil); d != nil && v.Distance(me, d) <= pickupRange {
		_ = b.sceneCall(abort, RouteScenePickup, &gamev1.PickupRequest{Drop: uint32(d.ID)}, &gamev1.SceneAck{},
			gamemesh.CodeNotFound, gamemesh.CodePermissionDenied, gamemesh.CodeInvalidArgument)
		delete(v.Entities, d.ID) // picked up, or someone else's: look elsewhere
		return
	}
	if monster != nil && v.Distance(me, monster) <= strikeRange && now.After(s.nextCast) {
		s.nextCast = now.Add(strikeEvery)
		_ = b.sceneCall(abort, RouteSceneCast, &gamev1.CastRequest{Skill: skillStrike, Target: uint32(monster.ID)}, &gamev1.SceneAck{},
			gamemesh.CodeInvalidArgument, gamemesh.CodeNotFound, gamemesh.CodeRateLimited)
		return
	}
	mx, my := v.Metres(me)
	tx, ty := mx+float32(s.rng.Float64()*2-1)*wanderStep, my+float32(s.rng.Float64()*2-1)*wanderStep
	if d := v.Nearest(scene.KindDrop, nil); d != nil && v.Distance(me, d) <= lookFor {
		tx, ty = v.Metres(d)
	} else if monster != nil && v.Distance(me, monster) <= lookFor {
		tx, ty = v.Metres(monster)
	}
	tx, ty = toward(mx, my, tx, ty, wanderStep)
	w, h := float32(v.Info.GetWidthMm())/1000, float32(v.Info.GetHeightMm())/1000
	tx, ty = min(max(tx, 0.5), w-0.5), min(max(ty, 0.5), h-0.5)
	_ = b.sceneCall(abort, RouteSceneMove, &gamev1.MoveRequest{X: tx, Y: ty}, &gamev1.SceneAck{}, gamemesh.CodeInvalidArgument)
}

// sceneCall is a realtime call; the expected game-level refusals are counted
// apart and not as errors, and so is UNAVAILABLE: the answer of a call in
// flight when the player's scene host was lost or the player was between
// scenes (the scene.lost push and the re-entry are in the report).
func (b *bot) sceneCall(abort context.Context, route string, in, out proto.Message, expected ...gamemesh.Code) error {
	expected = append(expected, gamemesh.CodeUnavailable)
	err := b.callExpecting(abort, route, in, out, expected...)
	if err != nil {
		for _, c := range expected {
			if gamemesh.CodeOf(err) == c {
				b.rec.scene.refused.Add(1)
			}
		}
	}
	return err
}

// toward returns the point at most step from (x, y) on the way to (tx, ty).
func toward(x, y, tx, ty, step float32) (float32, float32) {
	dx, dy := tx-x, ty-y
	d := float32(math.Sqrt(float64(dx*dx + dy*dy)))
	if d <= step || d == 0 {
		return tx, ty
	}
	return x + dx*step/d, y + dy*step/d
}
