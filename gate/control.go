package gate

import (
	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/directory"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// onControl acts on a control message of the push topic. Malformed or
// unknown ones are logged and dropped.
func (g *Gate) onControl(ev gamemesh.Event, p *gamev1.PushEnvelope) {
	if p.Route == directory.NoticeRoute {
		g.onNotice(ev, p)
		return
	}
	if p.Route != directory.KickRoute {
		g.log.Warn("dropping unknown control message", "event", ev.ID, "route", p.Route)
		return
	}
	var k gamev1.KickSession
	if err := proto.Unmarshal(p.Body, &k); err != nil || k.SessionId == "" {
		g.log.Warn("dropping malformed kick", "event", ev.ID, "player", p.PlayerId, "err", err)
		return
	}
	code, reason := k.Code, k.Reason
	if code == gamemesh.CodeOK || gamev1.ErrorCode_name[int32(code)] == "" {
		code = gamemesh.CodeKicked
	}
	if reason == "" {
		reason = "kicked"
	}
	s := g.sessionOf(gamemesh.PlayerID(p.PlayerId))
	if s == nil || s.id != k.SessionId {
		// The player left, or a newer session replaced the one meant.
		g.log.Debug("kick for a session not here", "player", p.PlayerId, "session", k.SessionId)
		return
	}
	s.kick(code, reason)
}

// sessionOf returns player's admitted or queued session here, or nil.
func (g *Gate) sessionOf(player gamemesh.PlayerID) *session {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if s := g.online[player]; s != nil {
		return s
	}
	if el := g.queued[player]; el != nil {
		return el.Value.(*session)
	}
	return nil
}
