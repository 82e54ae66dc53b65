package scene

import (
	"errors"
	"testing"
)

// countingRules records every batch and answers with fixed damage, or fails.
type countingRules struct {
	batches []CombatBatch
	damage  int32
	err     error
	short   bool
}

func (r *countingRules) ResolveCombat(b CombatBatch) ([]CombatResult, error) {
	r.batches = append(r.batches, b)
	if r.err != nil {
		return nil, r.err
	}
	out := make([]CombatResult, len(b.Events))
	for i := range out {
		out[i].Damage = r.damage
	}
	if r.short {
		out = out[1:]
	}
	return out, nil
}

func rulesScene(t *testing.T, rules Rules) *Scene {
	t.Helper()
	s, err := New(Config{
		ID: "rules", Width: 100 * Meter, Height: 100 * Meter, ViewRange: 20 * Meter, Seed: 3,
		Skills: []Skill{{ID: 1, Range: 5 * Meter, Cooldown: 5, Power: 10, Player: true}, {ID: 100, Range: 3 * Meter, Cooldown: 5, Power: 1}},
		Monsters: []MonsterKind{
			{ID: "rat", Level: 1, MaxHP: 100, Speed: Meter, AggroRange: 4 * Meter, LeashRange: 30 * Meter, Skill: 100},
		},
		Spawns: []SpawnPoint{{Monster: "rat", At: P(50, 50), Count: 3}},
		Rules:  rules,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRulesAreCalledOncePerTickWithEveryEvent(t *testing.T) {
	r := &countingRules{damage: 7}
	s := rulesScene(t, r)
	// The rats notice the players on tick 1 (aggro): no combat yet.
	s.Step(1, []Input{Join("p1", 50, 52, 1, 0), Join("p2", 51, 52, 1, 0)})
	if len(r.batches) != 0 {
		t.Fatalf("rules called %d times before any combat", len(r.batches))
	}
	out := s.Step(2, []Input{Cast("p1", 1, 1), Cast("p2", 1, 2)})
	if len(out.Errors) != 0 {
		t.Fatal(out.Errors)
	}
	if len(r.batches) != 1 {
		t.Fatalf("rules called %d times in one tick, want 1", len(r.batches))
	}
	b := r.batches[0]
	if b.Tick != 2 || b.Scene != "rules" || len(b.Events) != 5 {
		t.Fatalf("batch = tick %d scene %q with %d events, want tick 2, 2 casts + 3 rat bites", b.Tick, b.Scene, len(b.Events))
	}
	if b.Events[0].Attacker.Player != "p1" || b.Events[0].Defender.ID != 1 || b.Events[0].Skill.ID != 1 || b.Events[0].Defender.HP != 100 {
		t.Fatalf("first event = %+v", b.Events[0])
	}
	for _, ev := range b.Events[2:] {
		if ev.Attacker.Kind != KindMonster || ev.Defender.Kind != KindPlayer || ev.Skill.ID != 100 {
			t.Fatalf("monster event = %+v", ev)
		}
	}
	if rat, _ := s.Entity(1); rat.HP != 93 {
		t.Fatalf("rat HP = %d, want 93", rat.HP)
	}
}

func TestFailingRulesDoNoDamage(t *testing.T) {
	for _, r := range []*countingRules{{damage: 7, err: errors.New("lua: budget exceeded")}, {damage: 7, short: true}} {
		s := rulesScene(t, r)
		s.Step(1, []Input{Join("p1", 50, 52, 1, 0)})
		out := s.Step(2, []Input{Cast("p1", 1, 1)})
		if out.RulesErr == nil {
			t.Fatal("no RulesErr")
		}
		if rat, _ := s.Entity(1); rat.HP != 100 {
			t.Fatalf("rat HP = %d after failed rules", rat.HP)
		}
		// The scene goes on: the cooldown was used, and the next cast works once the rules do.
		r.err, r.short = nil, false
		s.Step(7, []Input{Cast("p1", 1, 1)})
		if rat, _ := s.Entity(1); rat.HP != 93 {
			t.Fatalf("rat HP = %d, want 93", rat.HP)
		}
	}
}

func TestDefaultRulesAreDeterministicAndSequential(t *testing.T) {
	r := DefaultRules{DropTables: []DropTable{{Monster: "rat", Items: []DropChance{{Item: "tail", Percent: 100, Min: 2, Max: 2}}}}}
	rat := Combatant{ID: 1, Kind: KindMonster, Type: "rat", Level: 1, HP: 30, MaxHP: 30}
	hero := Combatant{ID: 2, Kind: KindPlayer, Player: "p1", Level: 10, HP: 100, MaxHP: 100}
	sk := Skill{ID: 1, Power: 15}
	batch := CombatBatch{Seed: 99, Events: []CombatEvent{{hero, rat, sk}, {hero, rat, sk}, {hero, rat, sk}}}
	a, _ := r.ResolveCombat(batch)
	b, _ := r.ResolveCombat(batch)
	if len(a) != 3 {
		t.Fatalf("%d results", len(a))
	}
	killed := -1
	left := rat.HP
	for i := range a {
		if a[i].Damage != b[i].Damage || a[i].Critical != b[i].Critical || len(a[i].Drops) != len(b[i].Drops) {
			t.Fatalf("same seed, different results: %+v vs %+v", a[i], b[i])
		}
		if a[i].Damage < 1 {
			t.Fatalf("damage %d < 1", a[i].Damage)
		}
		if left > 0 && left-a[i].Damage <= 0 {
			killed = i
		}
		left -= a[i].Damage
		if (len(a[i].Drops) > 0 || a[i].XP > 0) != (i == killed) {
			t.Fatalf("result %d = %+v: drops and XP only on the killing blow (%d)", i, a[i], killed)
		}
	}
	if killed < 0 || a[killed].Drops[0] != (Drop{Item: "tail", Count: 2}) || a[killed].XP != 20 {
		t.Fatalf("kill at %d: %+v", killed, a)
	}
}
