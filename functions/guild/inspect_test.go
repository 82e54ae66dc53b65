package guild_test

// Reading the stored records directly, to check the invariants from the
// outside (the test mirrors the JSON layout of records.go).

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions/functionstest"
)

type storedMember struct {
	Role  string `json:"role"`
	Token string `json:"token"`
}

type storedGuild struct {
	ID       string                     `json:"id"`
	State    string                     `json:"state"`
	Leader   string                     `json:"leader"`
	Cap      int                        `json:"cap"`
	Members  map[string]storedMember    `json:"members"`
	Reserved map[string]json.RawMessage `json:"reserved"`
	Apps     map[string]int64           `json:"apps"`
	Invites  map[string]json.RawMessage `json:"invites"`
}

type storedClaim struct {
	Guild string `json:"guild"`
	Token string `json:"token"`
}

// guildRec reads guild/g/<id>; nil when missing.
func (e *env) guildRec(t *testing.T, id string) *storedGuild {
	t.Helper()
	it, err := e.store.Get(functionstest.Context(t), "guild/g/"+id)
	if errors.Is(err, gamemesh.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var g storedGuild
	if err := json.Unmarshal(it.Value, &g); err != nil {
		t.Fatal(err)
	}
	return &g
}

// claimOf reads guild/member/<p>; nil when missing.
func (e *env) claimOf(t *testing.T, p gamemesh.PlayerID) *storedClaim {
	t.Helper()
	it, err := e.store.Get(functionstest.Context(t), "guild/member/"+string(p))
	if errors.Is(err, gamemesh.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var c storedClaim
	if err := json.Unmarshal(it.Value, &c); err != nil {
		t.Fatal(err)
	}
	return &c
}

// checkInvariants checks the guilds ids and players ps: every active guild
// within its cap with exactly one leader who is a member; a dead guild
// listing no one; no player in two guilds; every member's claim naming its
// guild. It returns the guild of each player ("" for none).
func (e *env) checkInvariants(t *testing.T, ids []string, ps []gamemesh.PlayerID) map[gamemesh.PlayerID]string {
	t.Helper()
	in := map[gamemesh.PlayerID]string{}
	for _, id := range ids {
		g := e.guildRec(t, id)
		if g == nil {
			continue
		}
		if g.State != "active" {
			if len(g.Members) != 0 || len(g.Reserved) != 0 {
				t.Fatalf("%s guild %s lists %d members, %d reservations", g.State, id, len(g.Members), len(g.Reserved))
			}
			continue
		}
		if len(g.Members) > g.Cap {
			t.Fatalf("guild %s has %d members, cap %d", id, len(g.Members), g.Cap)
		}
		leaders := 0
		for p, m := range g.Members {
			if m.Role == "leader" {
				leaders++
			}
			if other, ok := in[gamemesh.PlayerID(p)]; ok {
				t.Fatalf("player %s is a member of %s and %s", p, other, id)
			}
			in[gamemesh.PlayerID(p)] = id
			if c := e.claimOf(t, gamemesh.PlayerID(p)); c == nil || c.Guild != id {
				t.Fatalf("member %s of %s has claim %+v", p, id, c)
			}
		}
		if leaders != 1 || g.Members[g.Leader].Role != "leader" {
			t.Fatalf("guild %s has %d leaders (leader %q)", id, leaders, g.Leader)
		}
	}
	out := map[gamemesh.PlayerID]string{}
	for _, p := range ps {
		out[p] = in[p]
	}
	return out
}
