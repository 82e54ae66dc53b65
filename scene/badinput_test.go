package scene

import (
	"bytes"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/gamemesh/gamemesh"
)

// badInputScene is a scene with p1 next to a rat, p2 far away, a drop owned
// by p1 and p1's skill on cooldown; p3 is dead.
func badInputScene(t *testing.T) *Scene {
	t.Helper()
	s, err := New(Config{
		ID: "bad", Width: 100 * Meter, Height: 100 * Meter, ViewRange: 20 * Meter, Seed: 5, MaxInputsPerPlayer: 3,
		Skills: []Skill{
			{ID: 1, Range: 3 * Meter, Cooldown: 100, Power: 1, Player: true},
			{ID: 2, Range: 3 * Meter, Cooldown: 1, Power: 1, Player: true},
			{ID: 100, Range: 2 * Meter, Cooldown: 1, Power: 0},
			{ID: 101, Range: 2 * Meter, Cooldown: 1, Power: 1000},
		},
		Monsters: []MonsterKind{
			{ID: "rat", Level: 1, MaxHP: 1_000_000, Speed: 0, AggroRange: 0, LeashRange: 50 * Meter, Skill: 100},
			{ID: "mite", Level: 1, MaxHP: 1, Speed: 0, AggroRange: 0, LeashRange: 50 * Meter, Skill: 100},
			{ID: "brute", Level: 1, MaxHP: 1_000_000, Speed: 0, AggroRange: 0, LeashRange: 50 * Meter, Skill: 101},
		},
		Spawns: []SpawnPoint{{Monster: "rat", At: P(50, 50), Count: 1}, {Monster: "mite", At: P(70, 70), Count: 1}, {Monster: "brute", At: P(10, 90), Count: 1}},
		Rules:  DefaultRules{DropTables: []DropTable{{Monster: "mite", Items: []DropChance{{Item: "dust", Percent: 100, Min: 1, Max: 1}}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// rat#1, mite#2, brute#3; p1#4 p2#5 p3#6; the mite's drop #7
	out := s.Step(1, []Input{Join("p1", 50, 52, 1, 0), Join("p2", 70, 71, 1, 0), Join("p3", 10, 91, 1, 0)})
	out2 := s.Step(2, []Input{Cast("p1", 1, 1), Cast("p2", 2, 2), Cast("p3", 2, 3)}) // brute#3 strikes back and kills p3
	if len(out.Errors)+len(out2.Errors) > 0 {
		t.Fatalf("setup: %v %v", out.Errors, out2.Errors)
	}
	s.Step(3, nil)
	if p3, _ := s.Player("p3"); p3.State != StateDead {
		t.Fatalf("setup: p3 is %v, want dead", p3.State)
	}
	if e, ok := s.Entity(7); !ok || e.Kind != KindDrop {
		t.Fatalf("setup: no drop 7: %+v", e)
	}
	return s
}

// TestBadInputChangesNothing steps one scene with a bad input and a twin
// without it: apart from the error, the outputs and the states must match,
// now and on the following ticks.
func TestBadInputChangesNothing(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	cases := []struct {
		name string
		in   []Input
		code gamemesh.Code
		msg  string
	}{
		{"malformed player", []Input{Move("P 1", 1, 1, 0)}, gamemesh.CodeInvalidArgument, "malformed player id"},
		{"player not in scene", []Input{Move("p9", 51, 52, 0)}, gamemesh.CodeNotFound, "not in this scene"},
		{"leave of a stranger", []Input{Leave("p9")}, gamemesh.CodeNotFound, "not in this scene"},
		{"resync of a stranger", []Input{Resync("p9")}, gamemesh.CodeNotFound, "not in this scene"},
		{"join twice", []Input{Join("p1", 1, 1, 1, 0)}, gamemesh.CodeAlreadyDone, "already in this scene"},
		{"join NaN", []Input{Join("p8", nan, 1, 1, 0)}, gamemesh.CodeInvalidArgument, "not a finite number"},
		{"join level", []Input{Join("p8", 1, 1, 5000, 0)}, gamemesh.CodeInvalidArgument, "out of range"},
		{"join negative xp", []Input{Join("p8", 1, 1, 1, -1)}, gamemesh.CodeInvalidArgument, "out of range"},
		{"move NaN", []Input{Move("p1", nan, 52, 0)}, gamemesh.CodeInvalidArgument, "not a finite number"},
		{"move Inf", []Input{Move("p1", 50, -inf, 0)}, gamemesh.CodeInvalidArgument, "not a finite number"},
		{"move huge", []Input{Move("p1", 3e38, 52, 0)}, gamemesh.CodeInvalidArgument, "outside"},
		{"move out of map", []Input{Move("p1", -0.01, 52, 0)}, gamemesh.CodeInvalidArgument, "outside"},
		{"move teleport", []Input{Move("p1", 50, 99, 0)}, gamemesh.CodeInvalidArgument, "more than 20 m"},
		{"move while dead", []Input{Move("p3", 10, 92, 0)}, gamemesh.CodeInvalidArgument, "is dead"},
		{"cast unknown skill", []Input{Cast("p1", 9, 1)}, gamemesh.CodeInvalidArgument, "unknown skill"},
		{"cast monster skill", []Input{Cast("p1", 100, 1)}, gamemesh.CodeInvalidArgument, "unknown skill"},
		{"cast unknown target", []Input{Cast("p1", 2, 99)}, gamemesh.CodeNotFound, "no entity 99"},
		{"cast on a player, pvp off", []Input{Cast("p1", 2, 5)}, gamemesh.CodeFeatureDisabled, "switched off"},
		{"cast on a drop", []Input{Cast("p2", 2, 7)}, gamemesh.CodeInvalidArgument, "cannot be attacked"},
		{"cast on cooldown", []Input{Cast("p1", 1, 1)}, gamemesh.CodeRateLimited, "on cooldown"},
		{"cast out of range", []Input{Cast("p2", 2, 1)}, gamemesh.CodeInvalidArgument, "skill 2 reaches 3 m"},
		{"cast on the dead", []Input{Cast("p2", 2, 2)}, gamemesh.CodeInvalidArgument, "is dead"},
		{"cast while dead", []Input{Cast("p3", 2, 3)}, gamemesh.CodeInvalidArgument, "is dead"},
		{"pickup unknown", []Input{Pickup("p2", 99)}, gamemesh.CodeNotFound, "no drop 99"},
		{"pickup a monster", []Input{Pickup("p1", 1)}, gamemesh.CodeNotFound, "no drop 1"},
		{"pickup out of range", []Input{Pickup("p1", 7)}, gamemesh.CodeInvalidArgument, "more than 2 m"},
		{"unknown kind", []Input{{Kind: 99, Player: "p1"}}, gamemesh.CodeInvalidArgument, "unknown input kind"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad, good := badInputScene(t), badInputScene(t)
			outBad, outGood := bad.Step(4, c.in), good.Step(4, nil)
			if len(outBad.Errors) != 1 {
				t.Fatalf("errors = %+v, want one", outBad.Errors)
			}
			e := outBad.Errors[0]
			if e.Err.Code != c.code || !strings.Contains(e.Err.Message, c.msg) || e.Index != 0 || e.Player != c.in[0].Player {
				t.Fatalf("error = %+v (%v), want %v containing %q", e, e.Err, c.code, c.msg)
			}
			outBad.Errors = nil
			sameRun(t, bad, good, outBad, outGood)
		})
	}
}

// sameRun checks two scenes (and their last outputs) are identical, and
// stay so for a few more ticks.
func sameRun(t *testing.T, a, b *Scene, outA, outB Output) {
	t.Helper()
	end := a.Tick() + 3
	for tick := a.Tick(); ; tick++ {
		var da, db bytes.Buffer
		digest(t, &da, outA)
		digest(t, &db, outB)
		if !bytes.Equal(da.Bytes(), db.Bytes()) {
			t.Fatalf("tick %d outputs differ:\n%s\nvs\n%s", tick, da.Bytes(), db.Bytes())
		}
		if !reflect.DeepEqual(a.Entities(), b.Entities()) {
			t.Fatalf("tick %d states differ:\n%+v\nvs\n%+v", tick, a.Entities(), b.Entities())
		}
		if tick == end {
			return
		}
		outA, outB = a.Step(tick+1, nil), b.Step(tick+1, nil)
	}
}

func TestFloodIsBounded(t *testing.T) {
	bad, good := badInputScene(t), badInputScene(t)
	flood := make([]Input, 0, 1000)
	for range 1000 {
		flood = append(flood, Move("p1", 51, 52, 0))
	}
	flood = append(flood, Join("p7", 1, 1, 1, 0)) // host inputs are not client inputs: not limited
	outBad := bad.Step(4, flood)
	outGood := good.Step(4, []Input{Move("p1", 51, 52, 0), Move("p1", 51, 52, 0), Move("p1", 51, 52, 0), Join("p7", 1, 1, 1, 0)})
	if outBad.Dropped != 997 || len(outBad.Errors) != 997 {
		t.Fatalf("dropped %d with %d errors, want 997", outBad.Dropped, len(outBad.Errors))
	}
	for i, e := range outBad.Errors {
		if e.Err.Code != gamemesh.CodeRateLimited || e.Index != i+3 {
			t.Fatalf("error %d = %+v", i, e)
		}
	}
	outBad.Errors, outBad.Dropped = nil, 0
	sameRun(t, bad, good, outBad, outGood)
}

func TestStepRefusesATickNotAfterTheLast(t *testing.T) {
	a, b := badInputScene(t), badInputScene(t)
	for _, tick := range []uint64{0, 1, 3} {
		out := a.Step(tick, []Input{Move("p1", 51, 52, 0), Join("p8", 1, 1, 1, 0)})
		if len(out.Errors) != 2 || out.Errors[0].Err.Code != gamemesh.CodeInvalidArgument || len(out.Updates) != 0 {
			t.Fatalf("Step(%d) = %+v", tick, out)
		}
	}
	sameRun(t, a, b, a.Step(4, nil), b.Step(4, nil))
}
