package achievement_test

import (
	"fmt"
	"testing"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// The kinds scene hosts publish (monster_killed, level_up, item_gained,
// dungeon_cleared), each delivered five times: counted once, unlocked once,
// rewarded once by a mail rendered from its template.
func TestSceneEventKindsCountedOnce(t *testing.T) {
	e := newEnv(t)
	ctx := functionstest.Context(t)
	p := gamemesh.NewPlayerID()
	events := []*gamev1.GameEvent{
		{Id: "scene-1:kill:1", PlayerId: string(p), Kind: "monster_killed", Count: 10},
		{Id: "scene-1:level:1", PlayerId: string(p), Kind: "level_up", Level: 10},
		{Id: "scene-1:item:1", PlayerId: string(p), Kind: "item_gained", ItemId: "dragon_scale", Count: 10},
		{Id: "scene-1:item:2", PlayerId: string(p), Kind: "item_gained", ItemId: "wolf_pelt", Count: 90},
		{Id: "dungeon-7:clear:1", PlayerId: string(p), Kind: "dungeon_cleared"},
	}
	for _, ev := range events {
		for i := range 5 {
			out, err := e.record(ctx, ev)
			if err != nil {
				t.Fatalf("%s delivery %d: %v", ev.Id, i, err)
			}
			if out.Duplicate != (i > 0) {
				t.Fatalf("%s delivery %d: duplicate = %v", ev.Id, i, out.Duplicate)
			}
		}
	}
	l := e.list(t, p)
	want := map[string]int64{"kills": 10, "level": 10, "items_gained": 100, "scales": 10, "dungeons": 1}
	for k, v := range want {
		if l.Counters[k] != v {
			t.Fatalf("counter %s = %d, want %d (counters %v)", k, l.Counters[k], v, l.Counters)
		}
	}
	unlocked := map[string]bool{}
	for _, a := range l.Achievements {
		if unlocked[a.Id] {
			t.Fatalf("%s unlocked twice", a.Id)
		}
		unlocked[a.Id] = true
		if a.RewardPending {
			t.Fatalf("%s reward still pending", a.Id)
		}
	}
	for _, id := range []string{"kills_10", "level_10", "dragon_scales_10", "items_100", "dungeons_1"} {
		if !unlocked[id] {
			t.Fatalf("%s not unlocked: %v", id, l.Achievements)
		}
	}
	mails := e.mails(t, p)
	if len(mails) != 5 {
		t.Fatalf("%d reward mails, want 5", len(mails))
	}
	subjects := map[string]bool{}
	for _, m := range mails {
		subjects[m.Subject] = true
	}
	for _, s := range []string{"Achievement: Slayer 10", "Achievement: Seasoned", "Achievement: Dragon hunter", "Achievement: Collector 100", "Achievement: Delver 1"} {
		if !subjects[s] {
			t.Fatalf("no reward mail %q among %v", s, subjects)
		}
	}
	if n := e.pushes.count(); n != 5 {
		t.Fatalf("%d unlock pushes, want 5", n)
	}
}

func TestEventItemMustBeKnown(t *testing.T) {
	e := newEnv(t)
	ctx := functionstest.Context(t)
	p := gamemesh.NewPlayerID()
	for i, item := range []string{"excalibur", "Dragon Scale", "x/y"} {
		before := e.mem.Snapshot()
		_, err := e.record(ctx, &gamev1.GameEvent{Id: fmt.Sprintf("bad-item-%d", i), PlayerId: string(p), Kind: "item_gained", ItemId: item, Count: 1})
		functionstest.WantCode(t, err, gamemesh.CodeInvalidArgument)
		functionstest.WantSame(t, before, e.mem.Snapshot())
	}
}
