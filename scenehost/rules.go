package scenehost

import (
	"context"
	"fmt"
	"time"

	"github.com/gamemesh/gamemesh/gamedata"
	"github.com/gamemesh/gamemesh/scene"
)

// The Lua combat module (scripts/combat) and its export.
const (
	RulesModule   = "combat"
	RulesFunction = "resolve"
)

// DefaultDropTables are the Go twin of the Lua drop tables, used when a host
// runs without Lua. Every item is in gamedata's catalogue (tested).
func DefaultDropTables() []scene.DropTable {
	return []scene.DropTable{
		{Monster: "wolf", Items: []scene.DropChance{{Item: "gold", Percent: 80, Min: 1, Max: 5}, {Item: "wolf_pelt", Percent: 40, Min: 1, Max: 1}, {Item: "bone", Percent: 20, Min: 1, Max: 2}}},
		{Monster: "boar", Items: []scene.DropChance{{Item: "gold", Percent: 90, Min: 2, Max: 8}, {Item: "boar_tusk", Percent: 50, Min: 1, Max: 2}}},
		{Monster: "skeleton", Items: []scene.DropChance{{Item: "gold", Percent: 100, Min: 3, Max: 10}, {Item: "bone", Percent: 60, Min: 1, Max: 3}, {Item: "iron_ore", Percent: 30, Min: 1, Max: 2}}},
		{Monster: "dragon", Items: []scene.DropChance{{Item: "gold", Percent: 100, Min: 20, Max: 50}, {Item: "dragon_scale", Percent: 100, Min: 1, Max: 2}, {Item: "gem", Percent: 50, Min: 1, Max: 1}}},
	}
}

// LuaFunc calls fn of a Lua module once with args, in one crossing to a Lua
// worker, and returns what it returned (the error says which generation
// failed). The compositions adapt luavm to it, so that this package does
// not depend on the Lua runtime.
type LuaFunc func(ctx context.Context, module, fn string, args []any) ([]any, error)

// LuaRules resolves a tick's combat with scripts/combat: ONE call per tick
// per scene (resolve(batch) with every event of the tick), so the tick
// crosses to a locked Lua worker once, whatever its combat. A result that
// breaks the contract (wrong count, negative damage, a drop naming an item
// the catalogue does not know) fails the tick's combat.
type LuaRules struct {
	Call LuaFunc
	// Timeout bounds the call (default 20 ms: less than half a tick).
	Timeout time.Duration
}

// ResolveCombat implements scene.Rules.
func (r LuaRules) ResolveCombat(b scene.CombatBatch) ([]scene.CombatResult, error) {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 20 * time.Millisecond
	}
	events := make([]any, len(b.Events))
	for i, ev := range b.Events {
		events[i] = map[string]any{
			"attacker": combatant(ev.Attacker), "defender": combatant(ev.Defender),
			"skill": map[string]any{"id": int64(ev.Skill.ID), "name": ev.Skill.Name, "power": int64(ev.Skill.Power)},
		}
	}
	batch := map[string]any{"scene": b.Scene, "tick": int64(b.Tick), "seed": int64(b.Seed % (1<<31 - 1)), "events": events}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	vals, err := r.Call(ctx, RulesModule, RulesFunction, []any{batch})
	if err != nil {
		return nil, fmt.Errorf("lua %s.%s: %w", RulesModule, RulesFunction, err)
	}
	return decodeResults(vals, len(b.Events))
}

func combatant(c scene.Combatant) map[string]any {
	return map[string]any{"id": int64(c.ID), "kind": c.Kind.String(), "type": c.Type, "level": int64(c.Level),
		"hp": int64(c.HP), "max_hp": int64(c.MaxHP)}
}

// decodeResults reads resolve's list of {damage, critical, xp, drops}.
func decodeResults(vals []any, n int) ([]scene.CombatResult, error) {
	if len(vals) != 1 {
		return nil, fmt.Errorf("combat.resolve returned %d values, want 1", len(vals))
	}
	list, ok := vals[0].([]any)
	if !ok || len(list) != n {
		return nil, fmt.Errorf("combat.resolve returned %T of %d results for %d events", vals[0], len(list), n)
	}
	cat := gamedata.Items()
	out := make([]scene.CombatResult, n)
	for i, v := range list {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("combat.resolve result %d is %T, want a table", i+1, v)
		}
		dmg, _ := m["damage"].(int64)
		xp, _ := m["xp"].(int64)
		crit, _ := m["critical"].(bool)
		if dmg < 0 || dmg > 1<<30 || xp < 0 || xp > 1<<30 {
			return nil, fmt.Errorf("combat.resolve result %d: damage %d or xp %d out of range", i+1, dmg, xp)
		}
		out[i] = scene.CombatResult{Damage: int32(dmg), Critical: crit, XP: xp}
		drops, _ := m["drops"].([]any) // an empty list crosses as an empty map: no drops
		for _, d := range drops {
			dm, _ := d.(map[string]any)
			item, _ := dm["item"].(string)
			count, _ := dm["count"].(int64)
			if err := cat.CheckItem(item, count); err != nil || count > 1000 {
				return nil, fmt.Errorf("combat.resolve result %d: drop %q×%d refused: %v", i+1, item, count, err)
			}
			out[i].Drops = append(out[i].Drops, scene.Drop{Item: item, Count: int32(count)})
		}
	}
	return out, nil
}
