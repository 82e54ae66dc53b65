package scenehost_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/scene"
	"github.com/gamemesh/gamemesh/scenehost"
)

func hasPrefix(ids []string, prefix string) bool {
	return slices.ContainsFunc(ids, func(id string) bool { return strings.HasPrefix(id, prefix) })
}

// A dungeon instance is made on the least-loaded host; entering and leaving
// move the player between hosts without dropping its connection, its record
// travelling with it (checked in, checked out); the empty instance closes.
func TestDungeonOnTheLeastLoadedHost(t *testing.T) {
	w := newWorld(t)
	city := w.addHost(hostConfig("host-1"), time.Second)
	dungeons := w.addHost(hostConfig("host-2", []string{}...), time.Second)
	p := w.newPlayer()
	p.enter(scenehost.CityName)
	eventually(t, "host-1's load announced", func() bool { return city.Load() == 1 })
	time.Sleep(300 * time.Millisecond) // a roster round: host-1 busier than host-2

	var resp gamev1.EnterResponse
	must(t, p.call("scene.enter", &gamev1.EnterRequest{Dungeon: "crypt"}, &resp))
	if !strings.HasPrefix(resp.SceneId, "crypt-") {
		t.Fatalf("entered %q", resp.SceneId)
	}
	p.enter(resp.SceneId)
	if !slices.Contains(dungeons.Scenes(), resp.SceneId) || hasPrefix(city.Scenes(), "crypt-") {
		t.Fatalf("instance on host-2 %v / host-1 %v", dungeons.Scenes(), city.Scenes())
	}
	if rec := w.record(p.id); rec.Lease.GetHolder() != "host-2" {
		t.Fatalf("lease after the transfer: %v", rec.Lease)
	}
	if x, y := p.view.Metres(p.view.Me()); x != 5 || y != 5 {
		t.Fatalf("entered the crypt at (%v,%v)", x, y)
	}
	skeletons := 0
	for _, e := range p.view.Entities {
		if e.Kind == scene.KindMonster && e.Type == "skeleton" {
			skeletons++
		}
	}
	if skeletons != 6 {
		t.Fatalf("full sync shows %d skeletons, want 6", skeletons)
	}
	wantErr(t, "a dungeon from a dungeon", p.call("scene.enter", &gamev1.EnterRequest{Dungeon: "crypt"}, &gamev1.EnterResponse{}),
		gamemesh.CodeInvalidArgument, "already in a dungeon")
	must(t, p.move(8, 8))

	must(t, p.call("scene.leave", &gamev1.LeaveRequest{}, &resp))
	p.enter(scenehost.CityName)
	if rec := w.record(p.id); rec.Lease.GetHolder() != "host-1" {
		t.Fatalf("lease back in the city: %v", rec.Lease)
	}
	eventually(t, "the empty instance closed", func() bool { return !hasPrefix(dungeons.Scenes(), "crypt-") })
	must(t, p.move(201, 200))
}

// Switched-off systems stop in the scene hosts and nobody is dropped.
func TestSwitchesStopSystemsNotPlayers(t *testing.T) {
	w := newWorld(t)
	h := w.addHost(hostConfig("host-1"), time.Second)
	a, b := w.newPlayer(), w.newPlayer()
	a.enter(scenehost.CityName)
	b.enter(scenehost.CityName)
	a.drain(100 * time.Millisecond)
	other := a.view.Nearest(scene.KindPlayer, func(e *scene.ViewEntity) bool { return e.Player == string(b.id) })
	if other == nil {
		t.Fatal("b not in a's view at the spawn")
	}
	strike := &gamev1.CastRequest{Skill: uint32(scenehost.SkillStrike), Target: uint32(other.ID)}

	// pvp off: casts on players refused; on: they hit.
	w.flags.set("pvp", false)
	wantErr(t, "pvp off", a.call("scene.cast", strike, nil), gamemesh.CodeFeatureDisabled, "switched off")
	w.flags.set("pvp", true)
	must(t, a.call("scene.cast", strike, nil))

	// A player in a dungeon stays there when dungeons are switched off; new
	// entries are refused; leaving works.
	var resp gamev1.EnterResponse
	must(t, b.call("scene.enter", &gamev1.EnterRequest{Dungeon: "crypt"}, &resp))
	b.enter("crypt-")
	w.flags.set("dungeon", false)
	wantErr(t, "dungeon off", a.call("scene.enter", &gamev1.EnterRequest{Dungeon: "crypt"}, &gamev1.EnterResponse{}), gamemesh.CodeFeatureDisabled, "dungeon")
	must(t, b.move(9, 9))
	must(t, b.call("scene.leave", &gamev1.LeaveRequest{}, &resp))
	b.enter(scenehost.CityName)
	w.flags.set("dungeon", true)

	// scene off: the gate refuses scene routes, and so does the host (defence
	// in depth, through a raw link); the sessions stay; on again, play goes on.
	w.flags.set("scene", false)
	wantErr(t, "scene off at the gate", a.move(201, 201), gamemesh.CodeFeatureDisabled, "switched off")
	l := dialRaw(t, h, "gate-raw")
	c := w.newPlayer()
	c.enter(scenehost.CityName)
	_ = c.conn.Close()
	eventually(t, "c saved", func() bool { return w.record(c.id).Lease.GetHolder() == "" })
	l.attach(string(c.id), "raw-session", scenehost.CityName, "")
	l.next("c entered", func(o *gamev1.LinkOutput) bool { return o.Route == scenehost.PushEnter })
	l.send(l.request(string(c.id), "raw-session", 1, "scene.move", &gamev1.MoveRequest{X: 201, Y: 201}))
	if o := l.next("refusal", kind(gamev1.LinkOutKind_LINK_OUT_RESPONSE)); o.Code != gamemesh.CodeFeatureDisabled {
		t.Fatalf("host with scene off: %v", o)
	}
	w.flags.set("scene", true)
	must(t, a.move(201, 201))
	must(t, b.move(199, 199))
	select {
	case <-a.conn.Done():
		t.Fatalf("a was dropped: %v", a.conn.Err())
	case <-b.conn.Done():
		t.Fatalf("b was dropped: %v", b.conn.Err())
	default:
	}
}
