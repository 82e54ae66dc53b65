package guild

import (
	"slices"

	"github.com/gamemesh/gamemesh"
)

var errNotMember = gamemesh.Errorf(gamemesh.CodePermissionDenied, "not a member of this guild")

// Who may do what (see doc.go for the table).
var (
	leaderOnly      = []string{roleLeader}
	leaderOrOfficer = []string{roleLeader, roleOfficer}
)

// require checks that p is a member of g with one of roles; what names the
// action in the refusal.
func (g *guildRec) require(p gamemesh.PlayerID, what string, roles []string) error {
	r := g.role(p)
	if r == "" {
		return errNotMember
	}
	if !slices.Contains(roles, r) {
		if len(roles) == 1 {
			return gamemesh.Errorf(gamemesh.CodePermissionDenied, "only the leader may %s", what)
		}
		return gamemesh.Errorf(gamemesh.CodePermissionDenied, "only the leader or officers may %s", what)
	}
	return nil
}
