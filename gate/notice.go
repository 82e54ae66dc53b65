package gate

import (
	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/directory"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// Broadcast pushes route/body to every admitted session of this gate and
// returns how many it was queued for (a session that cannot take it, slow or
// closing, is skipped; a full queue disconnects it as for any push).
func (g *Gate) Broadcast(route string, body []byte) int {
	g.mu.RLock()
	sessions := make([]*session, 0, len(g.online))
	for _, s := range g.online {
		sessions = append(sessions, s)
	}
	g.mu.RUnlock()
	n := 0
	for _, s := range sessions {
		if s.queued(s.out.putPush(&gamev1.Envelope{Kind: gamev1.Kind_KIND_PUSH, Route: route, Body: body})) {
			n++
		}
	}
	return n
}

// onNotice shows an operator's notice (control route gate.notice) to every
// player here, as a system.notice push.
func (g *Gate) onNotice(ev gamemesh.Event, p *gamev1.PushEnvelope) {
	var n gamev1.ServerNotice
	if err := proto.Unmarshal(p.Body, &n); err != nil || n.Id == "" || directory.CheckNoticeText(n.Text) != nil {
		g.log.Warn("dropping malformed notice", "event", ev.ID, "err", err)
		return
	}
	sent := g.Broadcast(directory.NoticePushRoute, p.Body)
	g.log.Info("notice broadcast", "notice", n.Id, "sessions", sent)
}
