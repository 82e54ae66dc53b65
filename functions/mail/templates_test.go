package mail_test

import (
	"strings"
	"testing"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	"github.com/gamemesh/gamemesh/functions/mail"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

func TestTemplateMailRenderedByLua(t *testing.T) {
	e := newEnv(t, mail.Config{})
	e.startLua(t)
	ctx := functionstest.Context(t)
	bob := e.newPlayer(t)
	id, err := e.send(ctx, "", &gamev1.SendMailRequest{To: string(bob), Template: "welcome", Params: map[string]string{"name": "Bob"},
		Attachments: gold(100), RequestId: "welcome-bob-0001"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.read(ctx, bob, id)
	if err != nil || m.Subject != "Welcome, Bob!" || !strings.Contains(m.Body, "Welcome to the game, Bob.") {
		t.Fatalf("read = %v, %v", m, err)
	}
	// The rendered text is stored: no Lua call to list it.
	calls := e.tpl.calls
	if out, _ := e.list(ctx, bob, "", 0); out.Mails[0].Subject != "Welcome, Bob!" || e.tpl.calls != calls {
		t.Fatalf("list = %v after %d template calls", out.Mails, e.tpl.calls-calls)
	}
	// Broadcasts use templates too.
	bid, err := e.broadcast(ctx, &gamev1.BroadcastMailRequest{Template: "compensation", Params: map[string]string{"reason": "maintenance"},
		Attachments: gold(10), RequestId: "bcast-tpl-00001"})
	if err != nil {
		t.Fatal(err)
	}
	m, err = e.read(ctx, bob, bid)
	if err != nil || m.Subject != "Sorry for the interruption" || !strings.Contains(m.Body, "(maintenance)") {
		t.Fatalf("broadcast read = %v, %v", m, err)
	}
}

func TestTemplateRefusals(t *testing.T) {
	e := newEnv(t, mail.Config{})
	e.startLua(t)
	ctx := functionstest.Context(t)
	alice, bob := e.newPlayer(t), e.newPlayer(t)
	cases := []struct {
		name string
		from gamemesh.PlayerID
		req  *gamev1.SendMailRequest
		code gamemesh.Code
		msg  string
	}{
		{"unknown template", "", &gamev1.SendMailRequest{Template: "no_such", Params: map[string]string{}}, gamemesh.CodeInvalidArgument, "template no_such: unknown template no_such"},
		{"missing param", "", &gamev1.SendMailRequest{Template: "welcome"}, gamemesh.CodeInvalidArgument, "template welcome: missing param name"},
		{"unknown param", "", &gamev1.SendMailRequest{Template: "welcome", Params: map[string]string{"name": "x", "extra": "y"}}, gamemesh.CodeInvalidArgument, "template welcome: unknown param extra"},
		{"bad template id", "", &gamev1.SendMailRequest{Template: "Welcome!"}, gamemesh.CodeInvalidArgument, ""},
		{"bad param name", "", &gamev1.SendMailRequest{Template: "welcome", Params: map[string]string{"Name": "x"}}, gamemesh.CodeInvalidArgument, ""},
		{"param control char", "", &gamev1.SendMailRequest{Template: "welcome", Params: map[string]string{"name": "a\x00b"}}, gamemesh.CodeInvalidArgument, ""},
		{"param too long", "", &gamev1.SendMailRequest{Template: "welcome", Params: map[string]string{"name": strings.Repeat("n", 257)}}, gamemesh.CodeInvalidArgument, ""},
		{"template and subject", "", &gamev1.SendMailRequest{Template: "welcome", Subject: "x", Params: map[string]string{"name": "x"}}, gamemesh.CodeInvalidArgument, ""},
		{"params alone", "", &gamev1.SendMailRequest{Subject: "x", Params: map[string]string{"name": "x"}}, gamemesh.CodeInvalidArgument, ""},
		{"player uses a template", alice, &gamev1.SendMailRequest{Template: "welcome", Params: map[string]string{"name": "x"}}, gamemesh.CodePermissionDenied, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.snapshot()
			c.req.To, c.req.RequestId = string(bob), gamemesh.NewID()
			_, err := e.send(ctx, c.from, c.req)
			functionstest.WantCode(t, err, c.code)
			if c.msg != "" && gamemesh.MessageOf(err) != c.msg {
				t.Fatalf("message %q, want %q", gamemesh.MessageOf(err), c.msg)
			}
			e.unchanged(t, before)
		})
	}
}

// While Lua is unavailable a template mail still goes out, attachments and
// all, under a fallback text; once Lua is back its readers see the text.
func TestTemplateMailWhileLuaIsDown(t *testing.T) {
	e := newEnv(t, mail.Config{})
	ctx := functionstest.Context(t)
	bob := e.newPlayer(t)
	id, err := e.send(ctx, "", &gamev1.SendMailRequest{To: string(bob), Template: "achievement_reward", Params: map[string]string{"title": "Pen pal"},
		Attachments: []*gamev1.Item{{Id: "stamp", Count: 1}}, RequestId: "reward-while-down"})
	if err != nil {
		t.Fatalf("template mail refused while Lua is down: %v", err)
	}
	out, _ := e.list(ctx, bob, "", 0)
	if m := out.Mails[0]; m.Id != id || m.Subject != mail.FallbackSubject || m.Body != mail.FallbackBody || m.Attachments[0].Id != "stamp" {
		t.Fatalf("mail while Lua is down = %v", m)
	}
	if c, err := e.claim(ctx, bob, "", id); err != nil || c.Items[0].Id != "stamp" {
		t.Fatalf("claim while Lua is down = %v, %v", c, err)
	}
	// A retry of the send while down is still the same mail.
	if again, err := e.send(ctx, "", &gamev1.SendMailRequest{To: string(bob), Template: "achievement_reward", Params: map[string]string{"title": "Pen pal"},
		Attachments: []*gamev1.Item{{Id: "stamp", Count: 1}}, RequestId: "reward-while-down"}); err != nil || again != id {
		t.Fatalf("retry = %q, %v", again, err)
	}
	e.startLua(t)
	out, _ = e.list(ctx, bob, "", 0)
	if m := out.Mails[0]; m.Subject != "Achievement: Pen pal" || !strings.Contains(m.Body, `"Pen pal"`) {
		t.Fatalf("mail once Lua is back = %v", m)
	}
	m, err := e.read(ctx, bob, id)
	if err != nil || m.Subject != "Achievement: Pen pal" {
		t.Fatalf("read once Lua is back = %v, %v", m, err)
	}
	// Unknown templates cannot be told from known ones while Lua is down:
	// they are delivered too (under the fallback) and refused once it is up.
	e.tpl.set(nil)
	if _, err := e.send(ctx, "", &gamev1.SendMailRequest{To: string(bob), Template: "no_such", RequestId: gamemesh.NewID()}); err != nil {
		t.Fatalf("send while down: %v", err)
	}
}
