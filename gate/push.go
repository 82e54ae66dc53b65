package gate

import (
	"context"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/directory"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// onPush delivers one event of the push topic to its player if the player is
// online here, or acts on a control message (a route starting with "gate.",
// never delivered to a client). Every event is acknowledged: a push for a
// player who is not here, or who cannot take it, is dropped (pushes are
// notices; what they announce is in the store), and a malformed one would
// fail again.
func (g *Gate) onPush(_ context.Context, ev gamemesh.Event) error {
	var p gamev1.PushEnvelope
	if err := proto.Unmarshal(ev.Data, &p); err != nil {
		g.log.Warn("dropping malformed push", "event", ev.ID, "err", err)
		return nil
	}
	if directory.IsControlRoute(p.Route) {
		g.onControl(ev, &p)
		return nil
	}
	g.mu.RLock()
	s := g.online[gamemesh.PlayerID(p.PlayerId)]
	g.mu.RUnlock()
	if s != nil {
		s.queued(s.out.putPush(&gamev1.Envelope{Kind: gamev1.Kind_KIND_PUSH, Route: p.Route, Body: p.Body}))
	}
	return nil
}
