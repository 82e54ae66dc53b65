package guild

import (
	"strings"
	"testing"
)

// The invariant check refuses every broken record: it is the last guard
// before a write.
func TestCheckRefusesBrokenRecords(t *testing.T) {
	good := func() *guildRec {
		g := &guildRec{ID: "g1", State: stateActive, Leader: "pa", Cap: 2}
		g.initMaps()
		g.Members["pa"] = &memberRec{Role: roleLeader}
		g.Members["pb"] = &memberRec{Role: roleMember}
		return g
	}
	if err := good().check(); err != nil {
		t.Fatalf("a good record refused: %v", err)
	}
	cases := map[string]func(g *guildRec){
		"over the cap":            func(g *guildRec) { g.Members["pc"] = &memberRec{Role: roleMember} },
		"two leaders":             func(g *guildRec) { g.Members["pb"].Role = roleLeader },
		"no leader":               func(g *guildRec) { g.Members["pa"].Role = roleOfficer },
		"leader field elsewhere":  func(g *guildRec) { g.Leader = "pb" },
		"leader not a member":     func(g *guildRec) { delete(g.Members, "pa"); g.Leader = "pz" },
		"unknown role":            func(g *guildRec) { g.Members["pb"].Role = "king" },
		"member with reservation": func(g *guildRec) { g.Reserved["pb"] = &reservation{Token: "t"} },
		"disbanded with members":  func(g *guildRec) { g.State = stateDisbanded },
		"disbanded with reservation": func(g *guildRec) {
			clear(g.Members)
			g.State = stateDisbanded
			g.Reserved["pc"] = &reservation{Token: "t"}
		},
	}
	for name, breakIt := range cases {
		g := good()
		breakIt(g)
		if err := g.check(); err == nil || !strings.Contains(err.Error(), "g1") {
			t.Errorf("%s: check = %v", name, err)
		}
	}
}
