package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// ControlRoutePrefix starts the routes of control messages on a gate's push
// topic: the gate acts on them itself and never delivers them to a client.
const ControlRoutePrefix = "gate."

// KickRoute is the control route that kicks one session; its body is a
// gamev1.KickSession.
const KickRoute = ControlRoutePrefix + "kick"

// IsControlRoute reports whether route is reserved for control messages.
func IsControlRoute(route string) bool { return strings.HasPrefix(route, ControlRoutePrefix) }

// PublishKick asks the gate at loc to kick player's session loc.Session with
// code and reason. The gate ignores it if that session is no longer there.
func PublishKick(ctx context.Context, pub gamemesh.Publisher, player gamemesh.PlayerID, loc Location,
	code gamemesh.Code, reason string) error {
	switch {
	case !player.Valid():
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "kick: invalid player id %q", player)
	case loc.Gate == "" || loc.Session == "":
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "kick %s: gate and session are required", player)
	case code == gamemesh.CodeOK || gamev1.ErrorCode_name[int32(code)] == "":
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "kick %s: a kick needs an error code from the catalogue, got %d", player, code)
	case strings.TrimSpace(reason) == "":
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "kick %s: a reason is required", player)
	}
	body, err := proto.Marshal(&gamev1.KickSession{SessionId: loc.Session, Code: code, Reason: reason})
	if err != nil {
		return fmt.Errorf("kick %s: %w", player, err)
	}
	data, err := proto.Marshal(&gamev1.PushEnvelope{PlayerId: string(player), Route: KickRoute, Body: body})
	if err != nil {
		return fmt.Errorf("kick %s: %w", player, err)
	}
	if err := pub.Publish(ctx, PushTopic(loc.Gate), gamemesh.Event{ID: gamemesh.NewID(), Data: data}); err != nil {
		return fmt.Errorf("kick %s on %s: %w", player, loc.Gate, err)
	}
	return nil
}

// Kicker kicks online players wherever they are connected (operator tools,
// IDIP), through their gate's push topic.
type Kicker struct {
	Locator   Locator
	Publisher gamemesh.Publisher
}

// Kick closes player's current session with a KICK frame carrying code and
// reason. It returns an error matching gamemesh.ErrNotFound if the player is
// offline, and INVALID_ARGUMENT for a malformed player id, an OK or unknown
// code or an empty reason (nothing is published then). The kick names the
// session found, so a session that replaced it meanwhile is not kicked.
func (k Kicker) Kick(ctx context.Context, player gamemesh.PlayerID, code gamemesh.Code, reason string) error {
	if !player.Valid() {
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "kick: invalid player id %q", player)
	}
	loc, err := k.Locator.Locate(ctx, player)
	if errors.Is(err, gamemesh.ErrNotFound) {
		return gamemesh.Wrap(gamemesh.CodeNotFound, err, fmt.Sprintf("player %s is offline", player))
	}
	if err != nil {
		return fmt.Errorf("kick %s: %w", player, err)
	}
	return PublishKick(ctx, k.Publisher, player, loc, code, reason)
}
