package achievement

import (
	"strings"
	"testing"
)

// A rule may only reward items of the catalogue, within their stack caps.
func TestParseUnlocksChecksTheCatalogue(t *testing.T) {
	unlock := func(reward ...any) []any {
		return []any{map[string]any{"id": "a1", "title": "A", "reward": reward}}
	}
	grant := func(item string, n int64) map[string]any {
		return map[string]any{"kind": "grant", "item": item, "count": n}
	}
	if _, err := parseUnlocks(unlock(grant("gold", 10), grant("gem", 1))); err != nil {
		t.Fatalf("known items refused: %v", err)
	}
	for name, c := range map[string]struct {
		list []any
		want string
	}{
		"unknown item":        {unlock(grant("excalibur", 1)), "unknown item"},
		"over the stack cap":  {unlock(grant("iron_sword", 2)), "out of range"},
		"merged over the cap": {unlock(grant("iron_sword", 1), grant("iron_sword", 1)), "out of range"},
		"negative count":      {unlock(grant("gold", -1)), "count must be"},
		"malformed item":      {unlock(grant("Gold!", 1)), "bad item id"},
	} {
		_, err := parseUnlocks(c.list)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one containing %q", name, err, c.want)
		}
	}
}
