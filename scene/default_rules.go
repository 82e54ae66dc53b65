package scene

// DefaultRules is the Go implementation of Rules: a simple damage formula and
// drop tables. It lets a scene run without Lua and is the reference the Lua
// rules are tested against.
type DefaultRules struct {
	DropTables []DropTable
}

// DropTable lists what a monster kind may drop.
type DropTable struct {
	Monster string
	Items   []DropChance
}

// DropChance is one possible drop: Percent chance (0..100) of Min..Max items.
type DropChance struct {
	Item     string
	Percent  int
	Min, Max int32
}

// ResolveCombat applies the events in order against each defender's HP,
// with randomness from batch.Seed.
func (r DefaultRules) ResolveCombat(batch CombatBatch) ([]CombatResult, error) {
	rng := NewRand(batch.Seed)
	out := make([]CombatResult, len(batch.Events))
	hp := make(map[EntityID]int32, len(batch.Events))
	for i, ev := range batch.Events {
		left, seen := hp[ev.Defender.ID]
		if !seen {
			left = ev.Defender.HP
		}
		dmg, crit := r.Damage(ev.Attacker, ev.Defender, ev.Skill, rng)
		out[i] = CombatResult{Damage: dmg, Critical: crit}
		if left > 0 && left-dmg <= 0 && ev.Defender.Kind == KindMonster {
			out[i].Drops = r.Drops(ev.Defender, rng)
			out[i].XP = r.XP(ev.Defender)
		}
		hp[ev.Defender.ID] = left - dmg
	}
	return out, nil
}

// Damage is the skill's power plus twice the attacker's level, less half the
// defender's level, ±10 %, doubled on a 10 % critical hit; at least 1. It
// draws exactly two numbers from rng.
func (DefaultRules) Damage(attacker, defender Combatant, skill Skill, rng *Rand) (int32, bool) {
	base := int64(skill.Power) + 2*int64(attacker.Level) - int64(defender.Level)/2
	base = base * rng.Between(90, 110) / 100
	crit := rng.Intn(100) < 10
	if crit {
		base *= 2
	}
	return int32(min(max(base, 1), 1<<30)), crit
}

// Drops rolls the monster's drop table.
func (r DefaultRules) Drops(monster Combatant, rng *Rand) []Drop {
	var drops []Drop
	for _, t := range r.DropTables {
		if t.Monster != monster.Type {
			continue
		}
		for _, c := range t.Items {
			if rng.Intn(100) >= c.Percent {
				continue
			}
			if n := int32(rng.Between(int64(c.Min), int64(c.Max))); n > 0 {
				drops = append(drops, Drop{Item: c.Item, Count: n})
			}
		}
	}
	return drops
}

// XP is the experience a kill of monster gives: 10 × (level + 1).
func (DefaultRules) XP(monster Combatant) int64 { return 10 * (int64(monster.Level) + 1) }
