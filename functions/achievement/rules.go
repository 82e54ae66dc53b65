package achievement

import (
	"context"
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/gamedata"
)

// RulesModule and RuleFunction name the Lua module and export the rules run:
// on_event(event, progress) -> progress, unlocks.
const (
	RulesModule  = "achievement"
	RuleFunction = "on_event"
)

// RuleCall is one on_event call: the event as a Lua table and the player's
// progress as the previous call returned it (nil for a new player).
type RuleCall struct {
	Event    map[string]any
	Progress map[string]any
}

// Args returns the call's arguments in on_event's order.
func (c RuleCall) Args() []any {
	var p any
	if c.Progress != nil {
		p = c.Progress
	}
	return []any{c.Event, p}
}

// RuleResult is what one on_event call returned: the new progress and the
// unlocks (a list of tables {id, title, reward = {{kind, item, count}...}}),
// or the call's error.
type RuleResult struct {
	Progress map[string]any
	Unlocks  []any
	Err      error
}

// NewRuleResult builds a RuleResult from the values a Lua call returned (an
// empty Lua table crosses as an empty map, which is taken as no unlocks).
func NewRuleResult(values []any, err error) RuleResult {
	if err != nil {
		return RuleResult{Err: err}
	}
	var r RuleResult
	if len(values) < 1 {
		return RuleResult{Err: fmt.Errorf("%s returned nothing", RuleFunction)}
	}
	p, ok := values[0].(map[string]any)
	if !ok {
		return RuleResult{Err: fmt.Errorf("%s returned progress of type %T, want a table", RuleFunction, values[0])}
	}
	r.Progress = p
	if len(values) > 1 {
		switch u := values[1].(type) {
		case nil:
		case []any:
			r.Unlocks = u
		case map[string]any:
			if len(u) != 0 {
				return RuleResult{Err: fmt.Errorf("%s returned unlocks as a table with keys, want a list", RuleFunction)}
			}
		default:
			return RuleResult{Err: fmt.Errorf("%s returned unlocks of type %T, want a list", RuleFunction, values[1])}
		}
	}
	return r
}

// Rules evaluates the achievement rules. Evaluate runs calls in one batch
// (one crossing to a Lua worker) and returns one result per call and the
// rules' generation; the error is for the batch as a whole. The lead's
// adapter over luavm.Pool.CallBatch implements it.
type Rules interface {
	Evaluate(ctx context.Context, calls []RuleCall) ([]RuleResult, string, error)
}

// Limits on what rules may return.
const (
	maxTitleLen       = 48
	maxRewardItems    = 10
	maxRewardCount    = 1_000_000
	maxUnlocksAtATime = 32
)

// parseUnlocks checks the unlocks a rule returned; anything malformed is a
// rule error (the event is not acknowledged and nothing changes).
func parseUnlocks(list []any) ([]unlockRec, error) {
	if len(list) > maxUnlocksAtATime {
		return nil, fmt.Errorf("rule returned %d unlocks, at most %d", len(list), maxUnlocksAtATime)
	}
	out := make([]unlockRec, 0, len(list))
	for i, v := range list {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("unlock %d is %T, want a table", i, v)
		}
		id, _ := m["id"].(string)
		if !validAchievementID(id) {
			return nil, fmt.Errorf("unlock %d: id %q must be 1 to 32 characters of [a-z0-9_]", i, id)
		}
		title, _ := m["title"].(string)
		if !validTitle(title) {
			return nil, fmt.Errorf("unlock %s: title must be 1 to %d bytes of UTF-8 without control characters", id, maxTitleLen)
		}
		items, err := parseReward(id, m["reward"])
		if err != nil {
			return nil, err
		}
		out = append(out, unlockRec{ID: id, Title: title, Reward: items})
	}
	return out, nil
}

func parseReward(id string, v any) ([]itemRec, error) {
	var list []any
	switch r := v.(type) {
	case nil:
		return nil, nil
	case []any:
		list = r
	case map[string]any:
		if len(r) != 0 {
			return nil, fmt.Errorf("unlock %s: reward must be a list of effects", id)
		}
		return nil, nil
	default:
		return nil, fmt.Errorf("unlock %s: reward is %T, want a list", id, v)
	}
	if len(list) > maxRewardItems {
		return nil, fmt.Errorf("unlock %s: at most %d reward effects", id, maxRewardItems)
	}
	items := make([]itemRec, 0, len(list))
	for j, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("unlock %s: reward %d is %T, want a table", id, j, e)
		}
		if k, _ := m["kind"].(string); k != "grant" {
			return nil, fmt.Errorf("unlock %s: reward %d has kind %q, only \"grant\" is supported", id, j, k)
		}
		item, _ := m["item"].(string)
		if !gamemesh.ValidItemID(item) {
			return nil, fmt.Errorf("unlock %s: reward %d: bad item id %q", id, j, item)
		}
		count, ok := m["count"].(int64)
		if !ok || count < 1 || count > maxRewardCount {
			return nil, fmt.Errorf("unlock %s: reward %d: count must be an integer in [1, %d]", id, j, maxRewardCount)
		}
		if err := gamedata.Items().CheckItem(item, count); err != nil {
			return nil, fmt.Errorf("unlock %s: reward %d: %s", id, j, gamemesh.MessageOf(err))
		}
		merged := false
		for k := range items {
			if items[k].ID == item {
				items[k].Count += count
				merged = true
			}
		}
		if !merged {
			items = append(items, itemRec{ID: item, Count: count})
		}
	}
	for _, it := range items { // merged counts too
		if err := gamedata.Items().CheckItem(it.ID, it.Count); err != nil {
			return nil, fmt.Errorf("unlock %s: reward: %s", id, gamemesh.MessageOf(err))
		}
	}
	return items, nil
}

func validAchievementID(s string) bool {
	if len(s) < 1 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func validTitle(s string) bool {
	if s == "" || len(s) > maxTitleLen || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}
