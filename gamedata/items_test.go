package gamedata

import (
	"testing"

	"github.com/gamemesh/gamemesh"
)

func TestShippedCatalogParses(t *testing.T) {
	c := Items()
	for _, id := range []string{"gold", "potion", "gem", "stamp"} { // used by the welcome gift and the Lua rules
		if !c.Known(id) {
			t.Errorf("shipped catalogue lacks %q", id)
		}
	}
	if len(c.IDs()) < 10 {
		t.Fatalf("catalogue has %d items", len(c.IDs()))
	}
}

func TestCheckItem(t *testing.T) {
	c := Items()
	cases := []struct {
		id    string
		count int64
		ok    bool
	}{
		{"gold", 1, true},
		{"iron_sword", 1, true},
		{"iron_sword", 2, false}, // over its stack cap
		{"gold", 0, false},
		{"gold", -5, false},
		{"excalibur", 1, false}, // unknown
		{"Gold", 1, false},      // malformed
		{"", 1, false},
	}
	for _, tc := range cases {
		err := c.CheckItem(tc.id, tc.count)
		if tc.ok != (err == nil) {
			t.Errorf("CheckItem(%q, %d) = %v, want ok=%v", tc.id, tc.count, err, tc.ok)
		}
		if err != nil && gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
			t.Errorf("CheckItem(%q, %d) code %v, want INVALID_ARGUMENT", tc.id, tc.count, gamemesh.CodeOf(err))
		}
	}
}

func TestParseCatalogRefusesBadData(t *testing.T) {
	for name, data := range map[string]string{
		"not json":  `{`,
		"bad id":    `{"items":[{"id":"Bad Id","name":"x","max_stack":1}]}`,
		"no name":   `{"items":[{"id":"a","max_stack":1}]}`,
		"zero cap":  `{"items":[{"id":"a","name":"A","max_stack":0}]}`,
		"duplicate": `{"items":[{"id":"a","name":"A","max_stack":1},{"id":"a","name":"B","max_stack":1}]}`,
	} {
		if _, err := ParseCatalog([]byte(data)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
