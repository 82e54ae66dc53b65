package feature

import (
	"strings"

	"github.com/gamemesh/gamemesh"
)

// SwitchPrefix starts the config key of every feature switch: "feature.<id>".
const SwitchPrefix = "feature."

// Switch values. Parsing ignores case and surrounding spaces.
const (
	On  = "on"
	Off = "off"
)

// DefaultSystems returns the ids of the built-in systems, whose switches
// every Flags watches. Lua modules and other systems are added with
// Config.Systems or Flags.AddSystems.
func DefaultSystems() []string {
	return []string{"login", "mail", "player", "achievement", "guild", "idip", "chat", "dungeon", "pvp", "scene"}
}

// ValidSystem reports whether id may name a system: the system part of a
// route, 1 to 32 characters of [A-Za-z0-9_].
func ValidSystem(id string) bool {
	system, _, ok := gamemesh.Route(id + ".x").Split()
	return ok && system == id
}

// SwitchKey returns the config key of system id's switch, or an
// INVALID_ARGUMENT error if id is not a valid system id.
func SwitchKey(id string) (string, error) {
	if !ValidSystem(id) {
		return "", gamemesh.Errorf(gamemesh.CodeInvalidArgument, "invalid system id %.40q: want 1 to 32 characters of [A-Za-z0-9_]", id)
	}
	return SwitchPrefix + id, nil
}

// ParseSwitch parses a switch value: "on" is true, "off" is false (case and
// surrounding spaces ignored); anything else is an INVALID_ARGUMENT error.
func ParseSwitch(value string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(value)) {
	case On:
		return true, nil
	case Off:
		return false, nil
	}
	return false, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "invalid switch value %.40q: want %q or %q", value, On, Off)
}
