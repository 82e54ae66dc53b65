package functions_test

import (
	"context"
	"testing"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
)

// muteList is a SpeechGuard over a set of muted players, counting its calls.
type muteList struct {
	muted map[gamemesh.PlayerID]bool
	calls int
}

func (m *muteList) CheckSpeech(_ context.Context, p gamemesh.PlayerID) error {
	m.calls++
	if m.muted[p] {
		return gamemesh.Errorf(gamemesh.CodeMuted, "muted")
	}
	return nil
}

func TestSpeechGuardCoversItsRoutesOnly(t *testing.T) {
	reg := functions.NewRegistry()
	ran := 0
	h := func(context.Context, gamemesh.Request) ([]byte, error) { ran++; return nil, nil }
	for _, r := range [][2]string{{"mail", "send"}, {"mail", "list"}, {"chat", "say"}, {"chat", "whisper"}} {
		reg.Handle(r[0], r[1], functions.Method{Public: true, Handler: h})
	}
	g := &muteList{muted: map[gamemesh.PlayerID]bool{"pmuted": true}}
	reg.SetSpeechGuard(g, "mail.send", "chat.*")
	call := func(app, method string, player gamemesh.PlayerID) error {
		_, err := reg.Call(context.Background(), gamemesh.Request{App: app, Method: method, Player: player})
		return err
	}
	for _, r := range [][2]string{{"mail", "send"}, {"chat", "say"}, {"chat", "whisper"}} {
		if code := gamemesh.CodeOf(call(r[0], r[1], "pmuted")); code != gamemesh.CodeMuted {
			t.Errorf("%s.%s by a muted player: %v, want MUTED", r[0], r[1], code)
		}
		if err := call(r[0], r[1], "ptalker"); err != nil {
			t.Errorf("%s.%s by a player who is not muted: %v", r[0], r[1], err)
		}
		if err := call(r[0], r[1], ""); err != nil {
			t.Errorf("%s.%s as a service: %v", r[0], r[1], err)
		}
	}
	if err := call("mail", "list", "pmuted"); err != nil {
		t.Errorf("mail.list is not speech, but was refused: %v", err)
	}
	if g.calls != 6 || ran != 7 {
		t.Fatalf("guard asked %d times (want 6: players on guarded routes), handlers ran %d times (want 7)", g.calls, ran)
	}
	reg.SetSpeechGuard(nil)
	if err := call("mail", "send", "pmuted"); err != nil {
		t.Fatalf("guard removed, still refused: %v", err)
	}
}

func TestSpeechGuardRefusesMalformedRoutes(t *testing.T) {
	for _, bad := range []string{"", "mail", "mail.", ".send", "ma il.*", "*.send"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("SetSpeechGuard accepted route %q", bad)
				}
			}()
			functions.NewRegistry().SetSpeechGuard(&muteList{}, bad)
		}()
	}
}
