package scene

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
)

// Apply between Steps gives what the same inputs given to the next Step
// give: the same refusals, combat, pickups, events and updates.
func TestApplyBetweenTicksEqualsStep(t *testing.T) {
	cfg := func() Config {
		return Config{
			ID: "apply", Mode: ModeGrid, Width: 100 * Meter, Height: 100 * Meter, ViewRange: 20 * Meter, Seed: 11,
			Skills:   []Skill{{ID: 1, Range: 4 * Meter, Cooldown: 3, Power: 30, Player: true}, {ID: 9, Range: 2 * Meter, Cooldown: 10, Power: 2}},
			Monsters: []MonsterKind{{ID: "wolf", Level: 1, MaxHP: 50, Speed: 3 * Meter, AggroRange: 3 * Meter, LeashRange: 30 * Meter, WanderRadius: 2 * Meter, Skill: 9}},
			Spawns:   []SpawnPoint{{Monster: "wolf", At: P(50, 50), Count: 6, Radius: 3 * Meter, RespawnTicks: 20}},
			Rules:    DefaultRules{DropTables: []DropTable{{Monster: "wolf", Items: []DropChance{{Item: "gold", Percent: 100, Min: 1, Max: 3}}}}},
		}
	}
	a, err := New(cfg())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := New(cfg())
	var joins []Input
	for i := range 6 {
		joins = append(joins, Join(gamemesh.PlayerID(fmt.Sprintf("p%d", i)), 48+float32(i), 52, 5, 0))
	}
	a.Step(1, joins)
	b.Step(1, joins)
	r := NewRand(5)
	kills, grants, refused := 0, 0, 0
	for tick := uint64(2); tick < 120; tick++ {
		var in []Input
		for i := range 6 {
			p := gamemesh.PlayerID(fmt.Sprintf("p%d", i))
			switch r.Intn(4) {
			case 0:
				in = append(in, Move(p, float32(40+r.Intn(20)), float32(40+r.Intn(20)), 0))
			case 1:
				in = append(in, Cast(p, 1, EntityID(1+r.Intn(12))))
			case 2:
				in = append(in, Pickup(p, EntityID(10+r.Intn(40))))
			}
		}
		for range r.Intn(3) { // a flood now and then: the per-tick cap
			in = append(in, Move("p0", 50, 50, 0))
		}
		outA := a.Step(tick, in)
		k := len(in) / 2
		errsB := append(b.Apply(in[:k]), shift(b.Apply(in[k:]), k)...)
		outB := b.Step(tick, nil)
		if got, want := errText(errsB), errText(outA.Errors); got != want {
			t.Fatalf("tick %d refusals:\n apply %s\n step  %s", tick, got, want)
		}
		if fmt.Sprint(outA.Events, outA.Grants, outA.Dropped) != fmt.Sprint(outB.Events, outB.Grants, outB.Dropped) {
			t.Fatalf("tick %d: step %v %v %d, apply %v %v %d", tick, outA.Events, outA.Grants, outA.Dropped, outB.Events, outB.Grants, outB.Dropped)
		}
		for _, ev := range outA.Events {
			if ev.Kind == EventMonsterKilled {
				kills++
			}
		}
		grants += len(outA.Grants)
		refused += len(outA.Errors)
		if len(outA.Updates) != len(outB.Updates) {
			t.Fatalf("tick %d: %d updates vs %d", tick, len(outA.Updates), len(outB.Updates))
		}
		for i := range outA.Updates {
			if !proto.Equal(outA.Updates[i].Msg, outB.Updates[i].Msg) {
				t.Fatalf("tick %d: update %d differs", tick, i)
			}
		}
	}
	if kills == 0 || grants == 0 || refused == 0 {
		t.Fatalf("the run proves little: %d kills, %d grants, %d refusals", kills, grants, refused)
	}
	if got := b.Apply([]Input{Join("px", 1, 1, 1, 0), Leave("p1")}); len(got) != 2 || got[0].Err.Code != gamemesh.CodeInvalidArgument {
		t.Fatalf("host inputs through Apply: %v", got)
	}
}

func shift(errs []InputError, k int) []InputError {
	for i := range errs {
		errs[i].Index += k
	}
	return errs
}

func errText(errs []InputError) string {
	s := ""
	for _, e := range errs {
		s += fmt.Sprintf("[%d %v %s %v] ", e.Index, e.Kind, e.Player, e.Err)
	}
	return s
}
