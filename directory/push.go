package directory

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// Locator says where an online player is.
type Locator interface {
	Locate(ctx context.Context, player gamemesh.PlayerID) (Location, error)
}

// PushTopic is the pub/sub topic a gate subscribes to for pushes to its players.
func PushTopic(gate string) string { return "push." + gate }

// Pusher sends pushes to online players through their gate's push topic.
type Pusher struct {
	Locator   Locator
	Publisher gamemesh.Publisher
}

// Push sends route/body to player if it is online. A push to an offline player
// is dropped and reported as nil: pushes are notices, the data they announce is
// in the store. Control routes (ControlRoutePrefix) are refused with
// INVALID_ARGUMENT: only the gates and Kicker send those.
func (p Pusher) Push(ctx context.Context, player gamemesh.PlayerID, route string, body []byte) error {
	if IsControlRoute(route) {
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "push %s: routes starting with %q are reserved", route, ControlRoutePrefix)
	}
	loc, err := p.Locator.Locate(ctx, player)
	if errors.Is(err, gamemesh.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("push %s to %s: %w", route, player, err)
	}
	data, err := proto.Marshal(&gamev1.PushEnvelope{PlayerId: string(player), Route: route, Body: body})
	if err != nil {
		return fmt.Errorf("push %s: %w", route, err)
	}
	if err := p.Publisher.Publish(ctx, PushTopic(loc.Gate), gamemesh.Event{ID: gamemesh.NewID(), Data: data}); err != nil {
		return fmt.Errorf("push %s to %s: %w", route, player, err)
	}
	return nil
}
