package scenehost_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/scene"
	"github.com/gamemesh/gamemesh/scenehost"
)

func alive(e *scene.ViewEntity) bool { return e.Status != scene.StateDead && e.HP > 0 }

// hunt fights the nearest monster until one dies and a drop is picked up;
// it returns the item picked up.
func (p *tplayer) hunt() string {
	p.t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for time.Now().Before(deadline) {
		p.drain(60 * time.Millisecond)
		me := p.view.Me()
		if me == nil || me.Status == scene.StateDead {
			continue
		}
		if d := p.view.Nearest(scene.KindDrop, nil); d != nil && p.view.Distance(me, d) < 12 {
			x, y := p.view.Metres(d)
			p.walkTo(x, y)
			err := p.call("scene.pickup", &gamev1.PickupRequest{Drop: uint32(d.ID)}, nil)
			if err == nil {
				return d.Type
			}
			if gamemesh.CodeOf(err) != gamemesh.CodeNotFound && gamemesh.CodeOf(err) != gamemesh.CodePermissionDenied {
				p.t.Fatalf("pickup: %v", err)
			}
			continue
		}
		m := p.view.Nearest(scene.KindMonster, alive)
		if m == nil {
			p.walkTo(185, 185) // toward the wolves
			continue
		}
		if p.view.Distance(me, m) > 2.5 {
			x, y := p.view.Metres(m)
			mx, my := p.view.Metres(me)
			dx, dy := x-mx, y-my
			f := (sqrt32(dx*dx+dy*dy) - 1.5) / sqrt32(dx*dx+dy*dy)
			_ = p.move(mx+dx*f, my+dy*f)
			continue
		}
		err := p.call("scene.cast", &gamev1.CastRequest{Skill: uint32(scenehost.SkillStrike), Target: uint32(m.ID)}, nil)
		switch gamemesh.CodeOf(err) {
		case gamemesh.CodeOK, gamemesh.CodeRateLimited, gamemesh.CodeInvalidArgument, gamemesh.CodeNotFound:
			// hit, cooldown, out of range or dead by now: go on
		default:
			p.t.Fatalf("cast: %v", err)
		}
	}
	p.t.Fatal("no monster killed and looted in time")
	return ""
}

func TestEnterCityFightLootAndSave(t *testing.T) {
	w := newWorld(t)
	w.addHost(hostConfig("host-1"), 200*time.Millisecond)
	p := w.newPlayer()
	p.enter(scenehost.CityName)
	me := p.view.Me()
	if x, y := p.view.Metres(me); x != 200 || y != 200 || me.Player != string(p.id) {
		t.Fatalf("joined at (%v,%v) as %+v, want the spawn (200,200)", x, y, me)
	}
	item := p.hunt()
	// The pickup is answered at once and lands in the record with the next
	// tick; the holder answers player.get from it, before any flush.
	p.drain(120 * time.Millisecond)
	var got gamev1.GetPlayerResponse
	must(t, p.call("player.get", &gamev1.GetPlayerRequest{}, &got))
	if got.Player.Inventory[item] == 0 || got.Player.Xp == 0 && got.Player.Level == 1 {
		t.Fatalf("player.get after a kill and a pickup = %v", got.Player)
	}

	eventually(t, "the kill and the pickup published", func() bool {
		kinds := map[string]bool{}
		for _, ev := range w.bus.topic(scenehost.EventsTopic) {
			var ge gamev1.GameEvent
			if proto.Unmarshal(ev.Data, &ge) == nil && ge.PlayerId == string(p.id) && ge.Id == ev.ID {
				kinds[ge.Kind] = true
			}
		}
		return kinds[scenehost.KindMonsterKilled] && kinds[scenehost.KindItemGained]
	})
	// Write-behind: the pickup reaches the store within the flush interval
	// while the player is still online.
	eventually(t, "the pickup saved", func() bool { return w.record(p.id).Inventory[item] > 0 })
	rec := w.record(p.id)
	if rec.Lease.GetHolder() != "host-1" || rec.Xp == 0 && rec.Level == 1 {
		t.Fatalf("record while online = %v", rec)
	}
	_ = p.conn.Close()
	eventually(t, "the lease freed at logout", func() bool { return w.record(p.id).Lease.GetHolder() == "" })
	if got := w.record(p.id); got.Inventory[item] < rec.Inventory[item] {
		t.Fatalf("inventory went back: %v then %v", rec, got)
	}
}
