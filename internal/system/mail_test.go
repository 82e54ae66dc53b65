package system

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/bots"
	"github.com/gamemesh/gamemesh/client"
	"github.com/gamemesh/gamemesh/gate"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// The embedded wiring of mail: templates rendered by the Lua module of
// scripts/mail (the welcome gift), a server-wide mail broadcast by a service
// reaching every bot, which read it and claim with claimAll and claim.
func TestEmbeddedMailTemplatesBroadcastAndBots(t *testing.T) {
	// A generous call deadline: this test is about what happens, not how fast
	// (the race detector and a loaded machine slow the fsync'ed writes).
	e, err := NewEmbedded(EmbeddedConfig{DataDir: t.TempDir(), Gate: gate.Config{TCPAddr: "127.0.0.1:0", WSAddr: "127.0.0.1:0", CallDeadline: 5 * time.Second},
		Lua: LuaConfig{ScriptsDir: "../../scripts"}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		if err := e.Stop(sctx); err != nil {
			t.Error(err)
		}
	}()
	body, err := proto.Marshal(&gamev1.BroadcastMailRequest{Template: "notice", Params: map[string]string{"title": "Patch 1.2", "text": "A new dungeon."},
		Attachments: []*gamev1.Item{{Id: "gem", Count: 3}}, RequestId: "system-test-broadcast"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Registry().Call(ctx, gamemesh.Request{App: "mail", Method: "broadcast", ID: gamemesh.NewID(), Body: body}); err != nil {
		t.Fatalf("mail.broadcast: %v", err)
	}

	// A player: the welcome gift (template "welcome") and the broadcast (template "notice").
	tk, err := client.GuestLogin(ctx, "http://"+e.Gate().HTTPAddr(), "system-test-device")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := client.Dial(ctx, "tcp://"+e.Gate().Addr(), tk.Ticket, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Call(ctx, "player.get", &gamev1.GetPlayerRequest{}, &gamev1.GetPlayerResponse{}); err != nil {
		t.Fatal(err)
	}
	var list gamev1.ListMailResponse
	if err := conn.Call(ctx, "mail.list", &gamev1.ListMailRequest{}, &list); err != nil {
		t.Fatal(err)
	}
	subjects := map[string]bool{}
	for _, m := range list.Mails {
		subjects[m.Subject] = true
	}
	if len(list.Mails) != 2 || !subjects["Patch 1.2"] || !hasPrefix(subjects, "Welcome, player-") {
		t.Fatalf("mails = %v; want the welcome gift and the notice, rendered", list.Mails)
	}
	var all gamev1.ClaimAllMailResponse
	if err := conn.Call(ctx, "mail.claimAll", &gamev1.ClaimAllMailRequest{}, &all); err != nil || len(all.MailIds) != 2 {
		t.Fatalf("claimAll = %v, %v", &all, err)
	}
	var rec gamev1.GetPlayerResponse
	if err := conn.Call(ctx, "player.get", &gamev1.GetPlayerRequest{}, &rec); err != nil {
		t.Fatal(err)
	}
	if inv := rec.Player.Inventory; inv["gem"] != 3 || inv["gold"] != 100 || inv["potion"] != 5 {
		t.Fatalf("inventory %v: want the gift and the broadcast's gems", inv)
	}

	rep, err := bots.Run(ctx, bots.Config{Players: 6, Duration: 3 * time.Second, MailEvery: 300 * time.Millisecond,
		Addr: "tcp://" + e.Gate().Addr(), HTTP: "http://" + e.Gate().HTTPAddr()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	line := string(rep.JSON())
	if rep.Errors != 0 || rep.LoginsOK != 6 {
		t.Fatalf("bots: %s", line)
	}
	for _, route := range []string{bots.RouteMailClaimAll, bots.RouteMailClaim, bots.RouteMailRead, bots.RouteMailSend} {
		if s := rep.Calls[route]; s.OK == 0 || s.Err != 0 {
			t.Fatalf("route %s: %+v in %s", route, s, line)
		}
	}
	if rep.ServerMailRead < 6 {
		t.Fatalf("%d server mails read by 6 bots: %s", rep.ServerMailRead, line)
	}
}

func hasPrefix(set map[string]bool, prefix string) bool {
	for s := range set {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}
