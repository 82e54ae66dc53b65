package login_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	"github.com/gamemesh/gamemesh/functions/login"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

func (e *env) mute(ctx context.Context, player, reason string, untilMs int64) error {
	return functionstest.CallAs(ctx, e.reg, "", "", "login", "mute", &gamev1.MuteRequest{PlayerId: player, Reason: reason, UntilMs: untilMs}, &gamev1.MuteResponse{})
}

func (e *env) status(ctx context.Context, player string) (*gamev1.AccountStatusResponse, error) {
	out := new(gamev1.AccountStatusResponse)
	err := functionstest.CallAs(ctx, e.reg, "", "", "login", "status", &gamev1.AccountStatusRequest{PlayerId: player}, out)
	return out, err
}

func TestMuteStatusAndExpiry(t *testing.T) {
	e := newEnv(t)
	ctx := functionstest.Context(t)
	acct, err := e.guest(ctx, "muted-device")
	if err != nil {
		t.Fatal(err)
	}
	st, err := e.status(ctx, acct.PlayerId)
	if err != nil || st.GetBan() != nil || st.GetMute() != nil || st.GetCreatedAtMs() == 0 {
		t.Fatalf("fresh account status = %+v, %v", st, err)
	}
	until := e.clk.Now().Add(time.Hour).UnixMilli()
	if err := e.mute(ctx, acct.PlayerId, "spam", until); err != nil {
		t.Fatal(err)
	}
	if err := e.ban(ctx, acct.PlayerId, "cheating", time.Time{}); err != nil {
		t.Fatal(err)
	}
	st, err = e.status(ctx, acct.PlayerId)
	if err != nil || st.GetMute().GetReason() != "spam" || st.GetMute().GetUntilMs() != until || st.GetBan().GetReason() != "cheating" || st.GetBan().GetUntilMs() != 0 {
		t.Fatalf("status = %+v, %v; want the mute and the ban", st, err)
	}
	// A mute does not stop logins; only the ban does.
	_, err = e.guest(ctx, "muted-device")
	functionstest.WantCode(t, err, gamemesh.CodeBanned)

	e.clk.Advance(2 * time.Hour)
	st, err = e.status(ctx, acct.PlayerId)
	if err != nil || st.GetMute() != nil || st.GetBan() == nil {
		t.Fatalf("after the mute's end: %+v, %v; want no mute, the ban", st, err)
	}
	if err := e.mute(ctx, acct.PlayerId, "again", 0); err != nil {
		t.Fatal(err)
	}
	if err := functionstest.CallAs(ctx, e.reg, "", "", "login", "unmute", &gamev1.UnmuteRequest{PlayerId: acct.PlayerId}, &gamev1.MuteResponse{}); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.status(ctx, acct.PlayerId); st.GetMute() != nil {
		t.Fatalf("unmuted account still muted: %+v", st)
	}
	_, err = e.status(ctx, "pnosuchplayer00000000")
	functionstest.WantCode(t, err, gamemesh.CodeNotFound)
}

func TestMuteBadInputChangesNothing(t *testing.T) {
	e := newEnv(t)
	ctx := functionstest.Context(t)
	acct, err := e.guest(ctx, "muted-device")
	if err != nil {
		t.Fatal(err)
	}
	before := e.mem.Snapshot()
	functionstest.WantCode(t, e.mute(ctx, "pnosuchplayer00000000", "x", 0), gamemesh.CodeNotFound)
	functionstest.WantCode(t, e.mute(ctx, "Bad Id!", "x", 0), gamemesh.CodeInvalidArgument)
	functionstest.WantCode(t, e.mute(ctx, acct.PlayerId, "bad\nreason", 0), gamemesh.CodeInvalidArgument)
	functionstest.WantCode(t, e.mute(ctx, acct.PlayerId, strings.Repeat("r", 257), 0), gamemesh.CodeInvalidArgument)
	functionstest.WantCode(t, e.mute(ctx, acct.PlayerId, "x", -5), gamemesh.CodeInvalidArgument)
	// Players cannot mute anyone (service method).
	err = functionstest.CallAs(ctx, e.reg, gamemesh.PlayerID(acct.PlayerId), "", "login", "mute", &gamev1.MuteRequest{PlayerId: acct.PlayerId}, &gamev1.MuteResponse{})
	functionstest.WantCode(t, err, gamemesh.CodeUnknownRoute)
	functionstest.WantSame(t, before, e.mem.Snapshot())
}

// echo is a speech route for the guard tests.
func echo(context.Context, gamemesh.Request) ([]byte, error) { return []byte("said"), nil }

func TestSpeechGuardRefusesMutedPlayers(t *testing.T) {
	e := newEnv(t)
	ctx := functionstest.Context(t)
	talker, err := e.guest(ctx, "talker-device")
	if err != nil {
		t.Fatal(err)
	}
	quiet, err := e.guest(ctx, "quiet-device")
	if err != nil {
		t.Fatal(err)
	}
	e.reg.Handle("chat", "say", functions.Method{Public: true, Handler: echo})
	e.reg.Handle("chat", "read", functions.Method{Public: true, Handler: echo})
	e.reg.SetSpeechGuard(login.SpeechGuard{Invoker: functionstest.Invoker{Registry: e.reg}}, "chat.say")
	say := func(player string) error {
		_, err := e.reg.Call(ctx, gamemesh.Request{App: "chat", Method: "say", Player: gamemesh.PlayerID(player), ID: gamemesh.NewID()})
		return err
	}
	if err := e.mute(ctx, quiet.PlayerId, "flooding", e.clk.Now().Add(time.Minute).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	err = say(quiet.PlayerId)
	functionstest.WantCode(t, err, gamemesh.CodeMuted)
	if msg := gamemesh.MessageOf(err); !strings.Contains(msg, "flooding") || !strings.Contains(msg, "until") {
		t.Fatalf("MUTED message %q lacks the reason or the end", msg)
	}
	if err := say(talker.PlayerId); err != nil {
		t.Fatalf("a player who is not muted was refused: %v", err)
	}
	// Other routes, and service calls of the guarded one, are not guarded.
	if _, err := e.reg.Call(ctx, gamemesh.Request{App: "chat", Method: "read", Player: gamemesh.PlayerID(quiet.PlayerId)}); err != nil {
		t.Fatalf("an unguarded route was refused: %v", err)
	}
	if _, err := e.reg.Call(ctx, gamemesh.Request{App: "chat", Method: "say"}); err != nil {
		t.Fatalf("a service call was refused: %v", err)
	}
	e.clk.Advance(2 * time.Minute)
	if err := say(quiet.PlayerId); err != nil {
		t.Fatalf("the mute ended but speech is refused: %v", err)
	}
	// The guard fails open when login cannot answer.
	if err := e.mute(ctx, quiet.PlayerId, "again", 0); err != nil {
		t.Fatal(err)
	}
	e.store.SetDown(true)
	if err := say(quiet.PlayerId); err != nil {
		t.Fatalf("with login's store down, speech was refused (%v); the guard must fail open", err)
	}
	e.store.SetDown(false)
	functionstest.WantCode(t, say(quiet.PlayerId), gamemesh.CodeMuted)
}
