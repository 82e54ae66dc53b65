package directory

import (
	"slices"
	"testing"
)

func TestLagging(t *testing.T) {
	ms := []Member{
		{ID: "a", Info: map[string]string{InfoConfigPrefix + "feature.guild": "7"}},
		{ID: "b", Info: map[string]string{InfoConfigPrefix + "feature.guild": "6"}},
		{ID: "c", Info: map[string]string{InfoConfigPrefix + "feature.guild": "10"}}, // newer, numerically
		{ID: "d", Info: map[string]string{}},                                         // never applied it
		{ID: "e", Info: map[string]string{InfoConfigPrefix + "feature.guild": "x"}},
	}
	ids := func(ms []Member) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.ID)
		}
		return out
	}
	if got := ids(Lagging(ms, "feature.guild", "7")); !slices.Equal(got, []string{"b", "d", "e"}) {
		t.Fatalf("Lagging at 7 = %v, want [b d e]", got)
	}
	if got := ids(Lagging(ms, "feature.guild", "x")); !slices.Equal(got, []string{"a", "b", "c", "d"}) {
		t.Fatalf("Lagging at a non-numeric version = %v, want all but e", got)
	}
	if got := Lagging(nil, "feature.guild", "1"); len(got) != 0 {
		t.Fatalf("no members lag behind: %v", got)
	}
}
