package functionstest_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions/functionstest"
)

// recTB records Fatalf instead of stopping the test.
type recTB struct {
	testing.TB
	failed []string
}

func (r *recTB) Helper() {}

func (r *recTB) Fatalf(format string, args ...any) {
	r.failed = append(r.failed, fmt.Sprintf(format, args...))
}

func TestWantCode(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want gamemesh.Code
		fail bool
	}{
		{"match", gamemesh.Errorf(gamemesh.CodeConflict, "taken"), gamemesh.CodeConflict, false},
		{"ok", nil, gamemesh.CodeOK, false},
		{"other code", gamemesh.Errorf(gamemesh.CodeConflict, "taken"), gamemesh.CodeNotFound, true},
		{"nil err", nil, gamemesh.CodeNotFound, true},
		{"no message", &gamemesh.Error{Code: gamemesh.CodeConflict}, gamemesh.CodeConflict, true},
		{"plain error", errors.New("x"), gamemesh.CodeConflict, true},
	}
	for _, c := range cases {
		r := &recTB{TB: t}
		functionstest.WantCode(r, c.err, c.want)
		if got := len(r.failed) > 0; got != c.fail {
			t.Errorf("%s: failed = %v (%v), want %v", c.name, got, r.failed, c.fail)
		}
	}
}

func TestWantSame(t *testing.T) {
	base := map[string]string{"a": "1", "b": ""}
	cases := []struct {
		name  string
		after map[string]string
		fail  bool
	}{
		{"same", map[string]string{"a": "1", "b": ""}, false},
		{"changed value", map[string]string{"a": "2", "b": ""}, true},
		{"added key", map[string]string{"a": "1", "b": "", "c": "3"}, true},
		{"swapped key", map[string]string{"a": "1", "c": ""}, true},
	}
	for _, c := range cases {
		r := &recTB{TB: t}
		functionstest.WantSame(r, base, c.after)
		if got := len(r.failed) > 0; got != c.fail {
			t.Errorf("%s: failed = %v (%v), want %v", c.name, got, r.failed, c.fail)
		}
	}
}
