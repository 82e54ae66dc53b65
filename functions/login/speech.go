package login

import (
	"context"
	"log/slog"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// SpeechRoutes are the routes where a player speaks to other players, which
// a muted player may not call: player-to-player mail, the guild notice, and
// every chat route (the chat system has none yet; its routes are covered as
// soon as they exist). internal/system guards them with SpeechGuard.
func SpeechRoutes() []string { return []string{"mail.send", "guild.notice", "chat.*"} }

// SpeechGuard is the functions.SpeechGuard of mutes: it asks login.status
// (through Invoker, wherever login runs) whether the player is muted, and
// refuses with MUTED, giving the reason and the end of the mute.
//
// It fails open: when login cannot answer (down, switched off, too slow) the
// player may speak and the failure is logged. A mute is a moderation tool;
// refusing every player's mail because login is unavailable would turn a
// login outage into a mail outage.
type SpeechGuard struct {
	Invoker gamemesh.Invoker
	// Logger receives the fail-open warnings (discarded when nil).
	Logger *slog.Logger
}

// CheckSpeech implements functions.SpeechGuard.
func (g SpeechGuard) CheckSpeech(ctx context.Context, player gamemesh.PlayerID) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, gamemesh.DefaultDeadline)
		defer cancel()
	}
	var st gamev1.AccountStatusResponse
	err := functions.Call(ctx, g.Invoker, AppName, "status", &gamev1.AccountStatusRequest{PlayerId: string(player)}, &st)
	if err != nil {
		if g.Logger != nil && gamemesh.CodeOf(err) != gamemesh.CodeNotFound {
			g.Logger.WarnContext(ctx, "mute status unknown; letting the player speak", "player", player, "err", err)
		}
		return nil
	}
	if m := st.GetMute(); m != nil {
		return mutedError(m)
	}
	return nil
}

func mutedError(m *gamev1.Sanction) error {
	if m.GetUntilMs() == 0 {
		return gamemesh.Errorf(gamemesh.CodeMuted, "you are muted permanently: %s", m.GetReason())
	}
	until := time.UnixMilli(m.GetUntilMs()).UTC().Format(time.RFC3339)
	return gamemesh.Errorf(gamemesh.CodeMuted, "you are muted until %s: %s", until, m.GetReason())
}
