package guild

import (
	"context"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// PushRoute is the route of GuildPush notices.
const PushRoute = "guild.event"

// notify pushes a GuildPush to p, best effort: the state is in the store
// whether or not the player hears of it.
func (a *App) notify(ctx context.Context, p gamemesh.PlayerID, kind gamev1.GuildEventKind, g *guildRec, by gamemesh.PlayerID) {
	if a.push == nil || g == nil {
		return
	}
	body, err := proto.Marshal(&gamev1.GuildPush{Kind: kind, GuildId: g.ID, GuildName: g.Name, By: string(by)})
	if err == nil {
		err = a.push.Push(ctx, p, PushRoute, body)
	}
	if err != nil {
		a.log.WarnContext(ctx, "guild push failed", "player", p, "kind", kind, "guild", g.ID, "err", err)
	}
}
