package system

import (
	"context"

	"github.com/gamemesh/gamemesh/functions/achievement"
	"github.com/gamemesh/gamemesh/luavm"
)

// luaRules runs the achievement rules on the Lua component: one batch, one
// crossing to a locked worker, one generation for every call in it.
type luaRules struct{ lua *Lua }

// Evaluate implements achievement.Rules.
func (r luaRules) Evaluate(ctx context.Context, calls []achievement.RuleCall) ([]achievement.RuleResult, string, error) {
	lc := make([]luavm.Call, len(calls))
	for i, c := range calls {
		lc[i] = luavm.Call{Fn: achievement.RuleFunction, Args: c.Args()}
	}
	res, gen, err := r.lua.CallBatch(ctx, achievement.RulesModule, lc)
	if err != nil {
		return nil, gen.String(), err
	}
	out := make([]achievement.RuleResult, len(res))
	for i := range res {
		out[i] = achievement.NewRuleResult(res[i].Values, res[i].Err)
	}
	return out, gen.String(), nil
}
