package mail_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	"github.com/gamemesh/gamemesh/functions/mail"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

func hello(to gamemesh.PlayerID, rid string) *gamev1.SendMailRequest {
	return &gamev1.SendMailRequest{To: string(to), Subject: "hi", RequestId: rid}
}

func TestQuotaPerRecipientPerDay(t *testing.T) {
	e := newEnv(t, mail.Config{SendsPerRecipientDaily: 3})
	ctx := functionstest.Context(t)
	alice, bob, carol := e.newPlayer(t), e.newPlayer(t), e.newPlayer(t)
	for i := range 3 {
		if _, err := e.send(ctx, alice, hello(bob, fmt.Sprintf("to-bob-%04d", i))); err != nil {
			t.Fatal(err)
		}
	}
	before := e.snapshot()
	_, err := e.send(ctx, alice, hello(bob, "to-bob-0003"))
	functionstest.WantCode(t, err, gamemesh.CodeLimitReached)
	if msg := gamemesh.MessageOf(err); msg != "daily limit of mails to this player reached: at most 3 a day" {
		t.Fatalf("message %q", msg)
	}
	e.unchanged(t, before)
	// Other recipients, other senders and system mail are not affected.
	if _, err := e.send(ctx, alice, hello(carol, "to-carol-0001")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.send(ctx, carol, hello(bob, "carol-to-bob-1")); err != nil {
		t.Fatal(err)
	}
	e.note(t, bob, "system mail has no quota")
	// The next UTC day starts afresh.
	e.clk.Advance(24 * time.Hour)
	if _, err := e.send(ctx, alice, hello(bob, "to-bob-next-day")); err != nil {
		t.Fatalf("next day: %v", err)
	}
}

func TestQuotaPerMinuteAndPerDay(t *testing.T) {
	e := newEnv(t, mail.Config{SendsPerMinute: 2, SendsPerDay: 4})
	ctx := functionstest.Context(t)
	alice := e.newPlayer(t)
	to := []gamemesh.PlayerID{e.newPlayer(t), e.newPlayer(t), e.newPlayer(t), e.newPlayer(t), e.newPlayer(t)}
	e.clk.Advance(time.Duration(60-e.clk.Now().Second()) * time.Second) // at the start of a minute
	for i := range 2 {
		if _, err := e.send(ctx, alice, hello(to[i], fmt.Sprintf("minute-1-%04d", i))); err != nil {
			t.Fatal(err)
		}
	}
	_, err := e.send(ctx, alice, hello(to[2], "minute-1-0002"))
	functionstest.WantCode(t, err, gamemesh.CodeRateLimited)
	if msg := gamemesh.MessageOf(err); msg != "sending mail too fast: at most 2 a minute" {
		t.Fatalf("message %q", msg)
	}
	e.clk.Advance(time.Minute)
	for i := 2; i < 4; i++ {
		if _, err := e.send(ctx, alice, hello(to[i], fmt.Sprintf("minute-2-%04d", i))); err != nil {
			t.Fatal(err)
		}
	}
	e.clk.Advance(time.Minute)
	_, err = e.send(ctx, alice, hello(to[4], "minute-3-0004"))
	functionstest.WantCode(t, err, gamemesh.CodeLimitReached)
	if msg := gamemesh.MessageOf(err); msg != "daily mail limit reached: at most 4 a day" {
		t.Fatalf("message %q", msg)
	}
}

// A retried send counts once, and a late retry of a mail that went out is
// answered with its mail id even when the quota is used up.
func TestQuotaCountsRetriesOnce(t *testing.T) {
	e := newEnv(t, mail.Config{SendsPerRecipientDaily: 2})
	ctx := functionstest.Context(t)
	alice, bob := e.newPlayer(t), e.newPlayer(t)
	req := hello(bob, "retried-send-01")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := e.send(ctx, alice, req); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	id, err := e.send(ctx, alice, hello(bob, "second-send-01"))
	if err != nil {
		t.Fatalf("the second distinct send was refused: %v (the retries counted more than once)", err)
	}
	_, err = e.send(ctx, alice, hello(bob, "third-send-001"))
	functionstest.WantCode(t, err, gamemesh.CodeLimitReached)
	// Push the first request ids out of the quota's memory of recent ones,
	// with sends to others.
	for i := range 70 {
		if i%50 == 0 {
			e.clk.Advance(time.Minute) // within the per-minute rate
		}
		p := e.newPlayer(t)
		if _, err := e.send(ctx, alice, hello(p, fmt.Sprintf("filler-%04d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if again, err := e.send(ctx, alice, hello(bob, "second-send-01")); err != nil || again != id {
		t.Fatalf("late retry = %q, %v; want %q", again, err, id)
	}
}

// The flood the quota exists for: one sender can no longer evict a
// player's mails or fill its box.
func TestQuotaStopsAFlood(t *testing.T) {
	e := newEnv(t, mail.Config{})
	ctx := functionstest.Context(t)
	victim, flooder := e.newPlayer(t), e.newPlayer(t)
	var kept []string
	for i := range 50 {
		kept = append(kept, e.note(t, victim, fmt.Sprintf("keep %d", i)))
	}
	refused := 0
	for i := range 200 {
		_, err := e.send(ctx, flooder, hello(victim, fmt.Sprintf("flood-%05d", i)))
		if err != nil {
			functionstest.WantCode(t, err, gamemesh.CodeLimitReached)
			refused++
		}
	}
	if refused != 200-mail.DefaultSendsPerRecipientDaily {
		t.Fatalf("%d of 200 flood mails refused, want %d", refused, 200-mail.DefaultSendsPerRecipientDaily)
	}
	out, err := e.list(ctx, victim, "", mail.MaxPageSize)
	if err != nil {
		t.Fatal(err)
	}
	if out.Total != int32(50+mail.DefaultSendsPerRecipientDaily) {
		t.Fatalf("victim holds %d mails, want its 50 and %d from the flooder", out.Total, mail.DefaultSendsPerRecipientDaily)
	}
	all := map[string]bool{}
	for tok := ""; ; {
		page, err := e.list(ctx, victim, tok, mail.MaxPageSize)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Mails {
			all[m.Id] = true
		}
		if tok = page.NextPageToken; tok == "" {
			break
		}
	}
	for _, id := range kept {
		if !all[id] {
			t.Fatalf("the flood evicted %s", id)
		}
	}
}
