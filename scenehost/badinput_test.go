package scenehost_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/scene"
	"github.com/gamemesh/gamemesh/scenehost"
)

func wantErr(t *testing.T, what string, err error, code gamemesh.Code, msg string) {
	t.Helper()
	if gamemesh.CodeOf(err) != code || !strings.Contains(gamemesh.MessageOf(err), msg) {
		t.Errorf("%s: %v, want %v containing %q", what, err, code, msg)
	}
}

// Every bad realtime input gets a clear error and changes nothing.
func TestBadInputsThroughTheGate(t *testing.T) {
	w := newWorld(t)
	w.addHost(hostConfig("host-1"), time.Second)
	p := w.newPlayer()
	p.enter(scenehost.CityName)

	wantErr(t, "move too far", p.move(200, 260), gamemesh.CodeInvalidArgument, "more than")
	wantErr(t, "move off the map", p.move(-5, 200), gamemesh.CodeInvalidArgument, "outside")
	wantErr(t, "move to NaN", p.move(float32(math.NaN()), 200), gamemesh.CodeInvalidArgument, "finite")
	wantErr(t, "unknown skill", p.call("scene.cast", &gamev1.CastRequest{Skill: 77, Target: 1}, nil), gamemesh.CodeInvalidArgument, "unknown skill")
	wantErr(t, "monster skill", p.call("scene.cast", &gamev1.CastRequest{Skill: 100, Target: 1}, nil), gamemesh.CodeInvalidArgument, "unknown skill")
	wantErr(t, "no such target", p.call("scene.cast", &gamev1.CastRequest{Skill: uint32(scenehost.SkillStrike), Target: 99999}, nil), gamemesh.CodeNotFound, "no entity")
	wantErr(t, "no such drop", p.call("scene.pickup", &gamev1.PickupRequest{Drop: 99999}, nil), gamemesh.CodeNotFound, "no drop")
	wantErr(t, "leave the city", p.call("scene.leave", &gamev1.LeaveRequest{}, &gamev1.EnterResponse{}), gamemesh.CodeInvalidArgument, "not in a dungeon")
	wantErr(t, "unknown dungeon", p.call("scene.enter", &gamev1.EnterRequest{Dungeon: "moon"}, &gamev1.EnterResponse{}), gamemesh.CodeNotFound, "no dungeon")
	wantErr(t, "city as a dungeon", p.call("scene.enter", &gamev1.EnterRequest{Dungeon: "city"}, &gamev1.EnterResponse{}), gamemesh.CodeNotFound, "no dungeon")
	_, err := p.conn.CallRaw(ctxT(t), "scene.move", []byte{0xff, 0xff, 0xff})
	wantErr(t, "malformed body", err, gamemesh.CodeBadRequest, "MoveRequest")
	_, err = p.conn.CallRaw(ctxT(t), "scene.move", make([]byte, 1024))
	wantErr(t, "oversize body", err, gamemesh.CodeBodyTooLarge, "body")
	_, err = p.conn.CallRaw(ctxT(t), "scene.fly", nil)
	wantErr(t, "unknown route", err, gamemesh.CodeUnknownRoute, "scene.fly")

	// Out of range and on cooldown: walk next to the wolves, bolt one at
	// 3-15 m (strike reaches 3 m), then bolt again at once.
	p.walkTo(190, 190)
	p.drain(200 * time.Millisecond)
	me := p.view.Me()
	m := p.view.Nearest(scene.KindMonster, func(e *scene.ViewEntity) bool { d := p.view.Distance(me, e); return alive(e) && d > 4 && d < 14 })
	if m == nil {
		t.Fatal("no wolf between 4 and 14 m of (190,190)")
	}
	wantErr(t, "out of range", p.call("scene.cast", &gamev1.CastRequest{Skill: uint32(scenehost.SkillStrike), Target: uint32(m.ID)}, nil),
		gamemesh.CodeInvalidArgument, "reaches")
	if err := p.call("scene.cast", &gamev1.CastRequest{Skill: uint32(scenehost.SkillBolt), Target: uint32(m.ID)}, nil); err != nil {
		t.Fatalf("bolt: %v", err)
	}
	wantErr(t, "on cooldown", p.call("scene.cast", &gamev1.CastRequest{Skill: uint32(scenehost.SkillBolt), Target: uint32(m.ID)}, nil),
		gamemesh.CodeRateLimited, "cooldown")

	// Nothing the refused inputs asked happened: the player is where it walked.
	p.drain(200 * time.Millisecond)
	if x, y := p.view.Metres(p.view.Me()); math.Abs(float64(x-190)) > 1 || math.Abs(float64(y-190)) > 1 {
		t.Fatalf("player at (%v,%v) after refused moves, want (190,190)", x, y)
	}
}
