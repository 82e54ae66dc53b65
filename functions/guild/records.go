package guild

import (
	"fmt"
	"time"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// Guild states.
const (
	stateActive    = "active"
	stateDisbanded = "disbanded"
	// stateAborted marks a creation that never completed: the record was
	// created as a tombstone by a repair, so the creator's own create-only
	// write of the record fails.
	stateAborted = "aborted"
)

// Roles as stored.
const (
	roleLeader  = "leader"
	roleOfficer = "officer"
	roleMember  = "member"
)

// maxRecent bounds the request log of a guild; recentWindow is how long an
// entry is kept.
const (
	maxRecent    = 64
	recentWindow = time.Hour
)

// guildRec is the JSON value of guild/g/<id>: everything that must change
// together (members, roles, reservations, applications, invitations, cap).
type guildRec struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	NameKey   string `json:"name_key"`
	State     string `json:"state"`
	Leader    string `json:"leader,omitempty"`
	Cap       int    `json:"cap"`
	Open      bool   `json:"open,omitempty"`
	Notice    string `json:"notice,omitempty"`
	CreatedMs int64  `json:"created_ms"`
	// Members by player id.
	Members map[string]*memberRec `json:"members,omitempty"`
	// Reserved are join slots taken by joins in progress, by player id.
	Reserved map[string]*reservation `json:"reserved,omitempty"`
	// Apps are pending applications: player id → applied at (ms).
	Apps map[string]int64 `json:"apps,omitempty"`
	// Invites are pending invitations by player id.
	Invites map[string]*invite `json:"invites,omitempty"`
	// Recent are the last mutating requests whose retry could not be
	// answered from the state alone (leave, kick, transfer, disband).
	Recent []opRec `json:"recent,omitempty"`
	// Former are the players released by disband, whose claims it frees.
	Former []formerRec `json:"former,omitempty"`
	EndMs  int64       `json:"end_ms,omitempty"`
}

type memberRec struct {
	Role     string `json:"role"`
	Token    string `json:"token"`
	JoinedMs int64  `json:"joined_ms"`
}

// reservation is a join slot: the token names the membership claim that may
// turn it into a membership.
type reservation struct {
	Token string `json:"token"`
	AtMs  int64  `json:"at_ms"`
}

type invite struct {
	By   string `json:"by"`
	AtMs int64  `json:"at_ms"`
}

type opRec struct {
	Player string `json:"player"`
	ReqID  string `json:"req"`
	Op     string `json:"op"`
	Target string `json:"target,omitempty"`
	AtMs   int64  `json:"at_ms"`
}

type formerRec struct {
	Player string `json:"player"`
	Token  string `json:"token"`
}

// claimRec is the JSON value of guild/member/<player>: the lock that makes
// "one guild per player" hold. It is true only when the guild record agrees.
type claimRec struct {
	Guild string `json:"guild"`
	Token string `json:"token"`
	// Create is set when the claim was made by guild.create: the guild
	// record may not exist yet.
	Create bool  `json:"create,omitempty"`
	AtMs   int64 `json:"at_ms"`
}

// nameRec is the JSON value of guild/name/<hash of the folded name>.
type nameRec struct {
	Guild  string `json:"guild"`
	Folded string `json:"folded"`
	AtMs   int64  `json:"at_ms"`
}

func guildKey(id string) string                           { return "guild/g/" + id }
func claimKey(player gamemesh.PlayerID) string            { return "guild/member/" + string(player) }
func nameKeyOf(hashedName string) string                  { return "guild/name/" + hashedName }
func (g *guildRec) active() bool                          { return g.State == stateActive }
func (g *guildRec) member(p gamemesh.PlayerID) *memberRec { return g.Members[string(p)] }

// role returns the role of p, "" when p is not a member.
func (g *guildRec) role(p gamemesh.PlayerID) string {
	if m := g.Members[string(p)]; m != nil {
		return m.Role
	}
	return ""
}

// initMaps makes the maps of a decoded record writable.
func (g *guildRec) initMaps() {
	if g.Members == nil {
		g.Members = map[string]*memberRec{}
	}
	if g.Reserved == nil {
		g.Reserved = map[string]*reservation{}
	}
	if g.Apps == nil {
		g.Apps = map[string]int64{}
	}
	if g.Invites == nil {
		g.Invites = map[string]*invite{}
	}
}

// liveReserved counts the reservations younger than ttl.
func (g *guildRec) liveReserved(now time.Time, ttl time.Duration) int {
	n := 0
	for _, r := range g.Reserved {
		if now.Sub(time.UnixMilli(r.AtMs)) < ttl {
			n++
		}
	}
	return n
}

// sweep drops applications, invitations and request log entries past their
// time. It never drops reservations: see dropStaleReservations.
func (g *guildRec) sweep(now time.Time, appTTL time.Duration) {
	cut := now.Add(-appTTL).UnixMilli()
	for p, at := range g.Apps {
		if at <= cut {
			delete(g.Apps, p)
		}
	}
	for p, inv := range g.Invites {
		if inv.AtMs <= cut {
			delete(g.Invites, p)
		}
	}
	recentCut := now.Add(-recentWindow).UnixMilli()
	i := 0
	for i < len(g.Recent) && (g.Recent[i].AtMs < recentCut || len(g.Recent)-i > maxRecent) {
		i++
	}
	if i > 0 {
		g.Recent = append([]opRec(nil), g.Recent[i:]...)
	}
}

// dropStaleReservations removes reservations older than ttl. It runs only
// on a record about to be written: the removal must be a write, so that a
// commit that read the reservation fails its ETag check.
func (g *guildRec) dropStaleReservations(now time.Time, ttl time.Duration) {
	for p, r := range g.Reserved {
		if now.Sub(time.UnixMilli(r.AtMs)) >= ttl {
			delete(g.Reserved, p)
		}
	}
}

// logOp records a request for retries; done finds it.
func (g *guildRec) logOp(p gamemesh.PlayerID, reqID, op, tgt string, now time.Time) {
	if reqID == "" {
		return
	}
	g.Recent = append(g.Recent, opRec{Player: string(p), ReqID: reqID, Op: op, Target: tgt, AtMs: now.UnixMilli()})
}

func (g *guildRec) done(p gamemesh.PlayerID, reqID, op, tgt string) bool {
	if reqID == "" {
		return false
	}
	for _, r := range g.Recent {
		if r.Player == string(p) && r.ReqID == reqID && r.Op == op && r.Target == tgt {
			return true
		}
	}
	return false
}

// check verifies the invariants of a record before it is written: an active
// guild has exactly one leader, who is a member, and at most Cap members; a
// dead one has no members and no reservations. A violation is a bug: the
// write is refused.
func (g *guildRec) check() error {
	if !g.active() {
		if len(g.Members) > 0 || len(g.Reserved) > 0 {
			return fmt.Errorf("guild %s is %s but lists %d members and %d reservations", g.ID, g.State, len(g.Members), len(g.Reserved))
		}
		return nil
	}
	if len(g.Members) > g.Cap {
		return fmt.Errorf("guild %s has %d members, cap %d", g.ID, len(g.Members), g.Cap)
	}
	leaders := 0
	for p, m := range g.Members {
		switch m.Role {
		case roleLeader:
			leaders++
			if p != g.Leader {
				return fmt.Errorf("guild %s: %s has the leader role but the leader is %s", g.ID, p, g.Leader)
			}
		case roleOfficer, roleMember:
		default:
			return fmt.Errorf("guild %s: %s has unknown role %q", g.ID, p, m.Role)
		}
		if _, ok := g.Reserved[p]; ok {
			return fmt.Errorf("guild %s: member %s still holds a reservation", g.ID, p)
		}
	}
	if leaders != 1 || g.role(gamemesh.PlayerID(g.Leader)) != roleLeader {
		return fmt.Errorf("guild %s has %d leaders (leader field %q)", g.ID, leaders, g.Leader)
	}
	return nil
}

func roleProto(role string) gamev1.GuildRole {
	switch role {
	case roleLeader:
		return gamev1.GuildRole_GUILD_ROLE_LEADER
	case roleOfficer:
		return gamev1.GuildRole_GUILD_ROLE_OFFICER
	case roleMember:
		return gamev1.GuildRole_GUILD_ROLE_MEMBER
	}
	return gamev1.GuildRole_GUILD_ROLE_UNSPECIFIED
}

// view is the Guild as p sees it.
func (g *guildRec) view(p gamemesh.PlayerID) *gamev1.Guild {
	return &gamev1.Guild{
		Id:          g.ID,
		Name:        g.Name,
		LeaderId:    g.Leader,
		MemberCount: int32(len(g.Members)),
		MemberCap:   int32(g.Cap),
		Notice:      g.Notice,
		Open:        g.Open,
		CreatedAtMs: g.CreatedMs,
		MyRole:      roleProto(g.role(p)),
	}
}
