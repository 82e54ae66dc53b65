package gamemesh

import (
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"strings"
)

// PlayerID identifies a player account. It is opaque: "p" followed by 20
// lower-case base32 characters for accounts gamemesh creates.
type PlayerID string

// NewPlayerID returns a fresh random player id.
func NewPlayerID() PlayerID { return PlayerID("p" + NewID()) }

// Valid reports whether id is a well-formed player id: 2 to 64 characters of
// [a-z0-9_-]. It says nothing about whether the player exists.
func (id PlayerID) Valid() bool { return ValidKeyPart(string(id)) }

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID returns 20 random lower-case base32 characters (100 bits): for mail,
// grants, sessions, tickets and request ids.
func NewID() string {
	var b [13]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("gamemesh: crypto/rand failed: %v", err)) // cannot happen on Linux ≥ 3.17
	}
	return idEncoding.EncodeToString(b[:])[:20]
}

// ValidKeyPart reports whether s may be embedded in a store key: 2 to 64
// characters of [a-z0-9_-]. Ids that come from clients are checked with it
// before they reach a key.
func ValidKeyPart(s string) bool {
	if len(s) < 2 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Route is "system.method". The system part is the owning app and the feature
// switch key.
type Route string

// Split returns the system and method of r, and false if r is not of the form
// "system.method" with both parts non-empty valid names.
func (r Route) Split() (system, method string, ok bool) {
	s := string(r)
	if len(s) > 64 {
		return "", "", false
	}
	system, method, ok = strings.Cut(s, ".")
	if !ok || !validName(system) || !validName(method) {
		return "", "", false
	}
	return system, method, true
}

func validName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// ValidItemID reports whether id names an item kind: 1 to 64 characters of
// [a-z0-9_.-]. Mail attachments, grants and the effects Lua rules emit all
// use this one rule.
func ValidItemID(id string) bool {
	if len(id) < 1 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}
