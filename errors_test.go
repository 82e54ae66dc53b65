package gamemesh_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gamemesh/gamemesh"
)

func TestCodeOfAndMessageOf(t *testing.T) {
	internal := errors.New("disk on fire at /var/lib/x")
	cases := []struct {
		err  error
		code gamemesh.Code
		msg  string
	}{
		{nil, gamemesh.CodeOK, ""},
		{gamemesh.Errorf(gamemesh.CodeNotFound, "no mail %s", "m1"), gamemesh.CodeNotFound, "no mail m1"},
		{fmt.Errorf("wrapped: %w", gamemesh.Errorf(gamemesh.CodeConflict, "busy")), gamemesh.CodeConflict, "busy"},
		{gamemesh.Wrap(gamemesh.CodeUnavailable, internal, "store down"), gamemesh.CodeUnavailable, "store down"},
		{context.DeadlineExceeded, gamemesh.CodeDeadlineExceeded, "deadline exceeded"},
		{fmt.Errorf("x: %w", context.Canceled), gamemesh.CodeUnavailable, "unavailable"},
		{internal, gamemesh.CodeInternal, "internal error"},
	}
	for _, c := range cases {
		if got := gamemesh.CodeOf(c.err); got != c.code {
			t.Errorf("CodeOf(%v) = %v, want %v", c.err, got, c.code)
		}
		if got := gamemesh.MessageOf(c.err); got != c.msg {
			t.Errorf("MessageOf(%v) = %q, want %q (internal causes are never shown)", c.err, got, c.msg)
		}
	}
}

func TestSentinelsMatchByCode(t *testing.T) {
	err := fmt.Errorf("get: %w", gamemesh.Errorf(gamemesh.CodeNotFound, "no key k"))
	if !errors.Is(err, gamemesh.ErrNotFound) || errors.Is(err, gamemesh.ErrConflict) {
		t.Fatal("sentinels must match by code only")
	}
	if !errors.Is(gamemesh.Wrap(gamemesh.CodeUnavailable, errors.New("x"), "down"), gamemesh.ErrUnavailable) {
		t.Fatal("wrapped UNAVAILABLE does not match ErrUnavailable")
	}
}

func TestRouteSplit(t *testing.T) {
	good := map[string][2]string{"mail.send": {"mail", "send"}, "player.applyGrants": {"player", "applyGrants"}}
	for r, want := range good {
		s, m, ok := gamemesh.Route(r).Split()
		if !ok || s != want[0] || m != want[1] {
			t.Errorf("Split(%q) = %q %q %v", r, s, m, ok)
		}
	}
	for _, r := range []string{"", "mail", ".send", "mail.", "mail.send.x", "ma il.send", "mail.s/end", "../x.y"} {
		if _, _, ok := gamemesh.Route(r).Split(); ok {
			t.Errorf("Split(%q) accepted a malformed route", r)
		}
	}
}

func TestIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := gamemesh.NewID()
		if len(id) != 20 || !gamemesh.ValidKeyPart(id) || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
	}
	if !gamemesh.NewPlayerID().Valid() {
		t.Fatal("NewPlayerID is not Valid")
	}
	for _, bad := range []string{"", "a", "Upper", "has space", "slash/x", "dot.x"} {
		if gamemesh.PlayerID(bad).Valid() {
			t.Errorf("PlayerID(%q).Valid() = true", bad)
		}
	}
}

func TestValidItemID(t *testing.T) {
	for _, ok := range []string{"gold", "potion_2", "sword.iron", "x-1", strings.Repeat("a", 64)} {
		if !gamemesh.ValidItemID(ok) {
			t.Errorf("ValidItemID(%q) = false", ok)
		}
	}
	for _, bad := range []string{"", "Gold", "has space", "slash/x", "ünïcode", strings.Repeat("a", 65)} {
		if gamemesh.ValidItemID(bad) {
			t.Errorf("ValidItemID(%q) = true", bad)
		}
	}
}
