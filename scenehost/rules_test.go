package scenehost_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions/achievement"
	"github.com/gamemesh/gamemesh/gamedata"
	"github.com/gamemesh/gamemesh/luavm"
	"github.com/gamemesh/gamemesh/scene"
	"github.com/gamemesh/gamemesh/scenehost"
)

// luaPool is a Lua pool running scripts/combat and scripts/achievement.
func luaPool(t testing.TB) *luavm.Pool {
	t.Helper()
	p, err := luavm.New(luavm.Options{Required: luavm.RequiredExports})
	must(t, err)
	must(t, p.Start())
	t.Cleanup(func() { _ = p.Close() })
	for _, m := range []string{"combat", "achievement"} {
		b, err := luavm.LoadModule("../scripts/" + m)
		must(t, err)
		_, err = p.Patch(context.Background(), b, luavm.PatchOptions{By: "test", SkipCanary: true})
		must(t, err)
	}
	return p
}

func combatPool(t *testing.T) *luavm.Pool { return luaPool(t) }

// poolRules runs the achievement rules on a pool (as internal/system does).
type poolRules struct{ pool *luavm.Pool }

func (r poolRules) Evaluate(ctx context.Context, calls []achievement.RuleCall) ([]achievement.RuleResult, string, error) {
	lc := make([]luavm.Call, len(calls))
	for i, c := range calls {
		lc[i] = luavm.Call{Fn: achievement.RuleFunction, Args: c.Args()}
	}
	res, gen, err := r.pool.CallBatch(ctx, achievement.RulesModule, lc)
	if err != nil {
		return nil, gen.String(), err
	}
	out := make([]achievement.RuleResult, len(res))
	for i := range res {
		out[i] = achievement.NewRuleResult(res[i].Values, res[i].Err)
	}
	return out, gen.String(), nil
}

// poolFunc is a scenehost.LuaFunc on a pool: one call per crossing.
func poolFunc(p *luavm.Pool) scenehost.LuaFunc {
	return func(ctx context.Context, module, fn string, args []any) ([]any, error) {
		vals, _, err := p.Call(ctx, module, fn, args...)
		return vals, err
	}
}

// counting counts the crossings to Lua.
type counting struct {
	pool  *luavm.Pool
	calls atomic.Int32
}

func (c *counting) call(ctx context.Context, module, fn string, args []any) ([]any, error) {
	c.calls.Add(1)
	return poolFunc(c.pool)(ctx, module, fn, args)
}

func TestLuaDropItemsAreInTheCatalogue(t *testing.T) {
	pool := combatPool(t)
	vals, _, err := pool.Call(context.Background(), scenehost.RulesModule, "drop_items")
	must(t, err)
	items := vals[0].([]any)
	if len(items) == 0 {
		t.Fatal("no drop items")
	}
	for _, it := range items {
		if !gamedata.Items().Known(it.(string)) {
			t.Errorf("Lua drop table names %q, not in gamedata/items.json", it)
		}
	}
	for _, tbl := range scenehost.DefaultDropTables() {
		for _, c := range tbl.Items {
			if !gamedata.Items().Known(c.Item) {
				t.Errorf("Go drop table names %q, not in gamedata/items.json", c.Item)
			}
		}
	}
}

// A tick with many casts crosses to Lua once, and Lua's damage, deaths,
// drops and experience land in the scene.
func TestLuaRulesOneCrossingPerTick(t *testing.T) {
	c := &counting{pool: combatPool(t)}
	cfg := scenehost.DefaultScenes()[1].Config // the crypt: skeletons in full sync
	cfg.ID, cfg.Seed, cfg.Rules = "crypt-test", 9, scenehost.LuaRules{Call: c.call}
	cfg.Spawns = []scene.SpawnPoint{{Monster: "skeleton", At: scene.P(10, 10), Count: 1}}
	cfg.MaxPlayers = 0
	s, err := scene.New(cfg)
	must(t, err)
	var in []scene.Input
	for i := range 5 {
		in = append(in, scene.Join(gamemesh.PlayerID("p"+string(rune('a'+i))+"x"), 10, 11, 30, 0))
	}
	s.Step(1, in)
	var skel scene.EntityID
	for _, e := range s.Entities() {
		if e.Kind == scene.KindMonster {
			skel = e.ID
		}
	}
	in = in[:0]
	for i := range 5 {
		in = append(in, scene.Cast(gamemesh.PlayerID("p"+string(rune('a'+i))+"x"), scenehost.SkillStrike, skel))
	}
	out := s.Step(2, in)
	if out.RulesErr != nil || len(out.Errors) != 0 {
		t.Fatalf("rules error %v, input errors %v", out.RulesErr, out.Errors)
	}
	if c.calls.Load() != 1 {
		t.Fatalf("%d crossings for one tick of 5 casts, want 1", c.calls.Load())
	}
	killed, xp := false, false
	for _, ev := range out.Events {
		killed = killed || ev.Kind == scene.EventMonsterKilled
	}
	for _, e := range s.Entities() {
		if e.Kind == scene.KindPlayer && (e.XP > 0 || e.Level > 30) {
			xp = true
		}
	}
	if !killed || !xp {
		t.Fatalf("level-30 players did not kill an 80 HP skeleton with 5 strikes: %+v", out.Events)
	}
}

// A Lua answer that breaks the contract fails the tick's combat (no damage),
// it never reaches the scene.
func TestLuaRulesRefuseBadAnswers(t *testing.T) {
	for name, src := range map[string]string{
		"wrong count":  `function resolve(b) return {} end`,
		"unknown item": `function resolve(b) local o = {} for i = 1, #b.events do o[i] = {damage = 1, xp = 1, drops = {{item = "excalibur", count = 1}}} end return o end`,
		"negative":     `function resolve(b) local o = {} for i = 1, #b.events do o[i] = {damage = -5} end return o end`,
		"raises":       `function resolve(b) error("boom") end`,
	} {
		t.Run(name, func(t *testing.T) {
			p, err := luavm.New(luavm.Options{})
			must(t, err)
			must(t, p.Start())
			defer p.Close()
			b, err := luavm.NewBundle(scenehost.RulesModule, []luavm.File{{Name: "rules.lua", Source: src}})
			must(t, err)
			_, err = p.Patch(context.Background(), b, luavm.PatchOptions{By: "test", SkipCanary: true})
			must(t, err)
			rules := scenehost.LuaRules{Call: poolFunc(p)}
			_, err = rules.ResolveCombat(scene.CombatBatch{Seed: 1, Events: []scene.CombatEvent{{
				Attacker: scene.Combatant{ID: 1, Kind: scene.KindPlayer, Level: 1, HP: 10, MaxHP: 10},
				Defender: scene.Combatant{ID: 2, Kind: scene.KindMonster, Type: "wolf", Level: 1, HP: 1, MaxHP: 10},
				Skill:    scene.Skill{ID: 1, Power: 5},
			}}})
			if err == nil {
				t.Fatal("a bad answer was accepted")
			}
		})
	}
}
