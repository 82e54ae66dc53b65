package achievement

import (
	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/gamedata"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// Event limits.
const (
	maxEventIDLen = 128
	maxKindLen    = 32
	maxEventCount = 1_000_000
)

func invalid(format string, args ...any) error {
	return gamemesh.Errorf(gamemesh.CodeInvalidArgument, format, args...)
}

// checkEvent refuses a malformed event with INVALID_ARGUMENT.
func checkEvent(ev *gamev1.GameEvent) error {
	if !validEventID(ev.GetId()) {
		return invalid("event id must be 2 to %d characters of [A-Za-z0-9_.:-]", maxEventIDLen)
	}
	if ev.GetPlayerId() == "" {
		return invalid("event has no player")
	}
	if !gamemesh.PlayerID(ev.GetPlayerId()).Valid() {
		return invalid("malformed player id")
	}
	if !validKind(ev.GetKind()) {
		return invalid("event kind must be 1 to %d characters of [a-z0-9_]", maxKindLen)
	}
	if ev.GetCount() < 0 || ev.GetCount() > maxEventCount {
		return invalid("count must be 0 to %d", maxEventCount)
	}
	if ev.GetLevel() < 0 || ev.GetLevel() > maxEventCount {
		return invalid("level must be 0 to %d", maxEventCount)
	}
	if ev.GetAtMs() < 0 {
		return invalid("at_ms must not be negative")
	}
	if ev.GetItemId() != "" {
		if err := gamedata.Items().CheckItem(ev.GetItemId(), 1); err != nil {
			return invalid("item_id: %s", gamemesh.MessageOf(err))
		}
	}
	return nil
}

// ruleEvent is the event as the rules see it: {kind, count?, level?, item?}.
func ruleEvent(ev *gamev1.GameEvent) map[string]any {
	m := map[string]any{"kind": ev.GetKind()}
	if ev.GetCount() > 0 {
		m["count"] = ev.GetCount()
	}
	if ev.GetLevel() > 0 {
		m["level"] = ev.GetLevel()
	}
	if ev.GetItemId() != "" {
		m["item"] = ev.GetItemId()
	}
	return m
}

func validEventID(s string) bool {
	if len(s) < 2 || len(s) > maxEventIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

func validKind(s string) bool {
	if len(s) < 1 || len(s) > maxKindLen {
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
