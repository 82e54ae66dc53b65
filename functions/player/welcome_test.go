package player_test

import (
	"testing"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	"github.com/gamemesh/gamemesh/functions/player"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

func listMail(t *testing.T, e *env, p gamemesh.PlayerID) []*gamev1.Mail {
	t.Helper()
	out := new(gamev1.ListMailResponse)
	if err := functionstest.CallAs(functionstest.Context(t), e.reg, p, "", "mail", "list", &gamev1.ListMailRequest{}, out); err != nil {
		t.Fatal(err)
	}
	return out.Mails
}

func TestWelcomeGiftSentOnce(t *testing.T) {
	gift := []*gamev1.Item{{Id: "gold", Count: 100}}
	e := newEnv(t, player.Config{WelcomeGift: gift}, true)
	p := e.newPlayer(t)
	ctx := functionstest.Context(t)

	// Mail is down at the first get: the player still gets its record, the gift waits.
	e.inv.failNext("mail.send", 1)
	rec, err := e.get(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if rec.WelcomeSent || len(listMail(t, e, p)) != 0 {
		t.Fatalf("gift marked sent (%v) or mailed while mail was down", rec.WelcomeSent)
	}
	for range 3 {
		if rec, err = e.get(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if !rec.WelcomeSent {
		t.Fatal("welcome gift not marked sent once mail is back")
	}
	mails := listMail(t, e, p)
	if len(mails) != 1 || len(mails[0].Attachments) != 1 || mails[0].Attachments[0].Count != 100 {
		t.Fatalf("want exactly one welcome mail with 100 gold, got %v", mails)
	}
}

func TestNoWelcomeGiftWhenUnset(t *testing.T) {
	e := newEnv(t, player.Config{}, true)
	p := e.newPlayer(t)
	if _, err := e.get(functionstest.Context(t), p); err != nil {
		t.Fatal(err)
	}
	if n := len(listMail(t, e, p)); n != 0 {
		t.Fatalf("%d mails without a configured gift", n)
	}
}
