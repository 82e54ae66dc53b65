package mail_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	"github.com/gamemesh/gamemesh/functions/mail"
	"github.com/gamemesh/gamemesh/gamedata"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

func TestListPages(t *testing.T) {
	e := newEnv(t, mail.Config{})
	ctx := functionstest.Context(t)
	bob := e.newPlayer(t)
	const n = 45
	sent := make([]string, n)
	for i := range n {
		sent[i] = e.note(t, bob, fmt.Sprintf("mail %d", i))
		e.clk.Advance(time.Millisecond)
	}
	var got []string
	token, pages := "", 0
	for {
		out, err := e.list(ctx, bob, token, 20)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if want := int32(min(pages, 2)) + n - 1; out.Total != want || out.Unread != want {
			t.Fatalf("page %d: total %d unread %d, want %d", pages, out.Total, out.Unread, want)
		}
		for _, m := range out.Mails {
			got = append(got, m.Id)
		}
		if pages == 1 {
			// A mail arriving between pages shows on no later page.
			e.note(t, bob, "late")
			e.clk.Advance(time.Millisecond)
		}
		token = out.NextPageToken
		if token == "" {
			break
		}
		if pages > 3 {
			t.Fatal("more than 3 pages")
		}
	}
	if pages != 3 || len(got) != n {
		t.Fatalf("%d pages, %d mails; want 3 pages, %d mails", pages, len(got), n)
	}
	for i := range n { // newest first, no duplicates, no gaps
		if got[i] != sent[n-1-i] {
			t.Fatalf("mail %d is %s, want %s", i, got[i], sent[n-1-i])
		}
	}
}

func TestListBadInput(t *testing.T) {
	e := newEnv(t, mail.Config{})
	ctx := functionstest.Context(t)
	bob := e.newPlayer(t)
	e.note(t, bob, "x")
	for _, tok := range []string{"garbage!", "YDE6MTA", "YzE6LTE", "YzE6MDAx", "YzE6YWJj", string(make([]byte, 100))} {
		_, err := e.list(ctx, bob, tok, 0)
		functionstest.WantCode(t, err, gamemesh.CodeBadRequest)
	}
	for _, size := range []int32{-1, mail.MaxPageSize + 1} {
		_, err := e.list(ctx, bob, "", size)
		functionstest.WantCode(t, err, gamemesh.CodeInvalidArgument)
	}
	_, err := e.list(ctx, "", "", 0)
	functionstest.WantCode(t, err, gamemesh.CodeNotLoggedIn)
	out, err := e.list(ctx, e.newPlayer(t), "", 0)
	if err != nil || len(out.Mails) != 0 || out.Total != 0 || out.NextPageToken != "" {
		t.Fatalf("empty box list = %v, %v", out, err)
	}
}

func TestReadMarksRead(t *testing.T) {
	e := newEnv(t, mail.Config{})
	ctx := functionstest.Context(t)
	bob := e.newPlayer(t)
	id := e.note(t, bob, "read me")
	e.note(t, bob, "unread")
	for range 2 { // reading twice is fine
		out := new(gamev1.ReadMailResponse)
		if err := functionstest.CallAs(ctx, e.reg, bob, "", "mail", "read", &gamev1.ReadMailRequest{MailId: id}, out); err != nil {
			t.Fatal(err)
		}
		if out.Mail.Id != id || out.Mail.Subject != "read me" || !out.Mail.Read {
			t.Fatalf("read = %v", out.Mail)
		}
	}
	l, _ := e.list(ctx, bob, "", 0)
	if l.Total != 2 || l.Unread != 1 {
		t.Fatalf("total %d unread %d, want 2 and 1", l.Total, l.Unread)
	}
	err := functionstest.CallAs(ctx, e.reg, bob, "", "mail", "read", &gamev1.ReadMailRequest{MailId: "mnosuchmail"}, &gamev1.ReadMailResponse{})
	functionstest.WantCode(t, err, gamemesh.CodeNotFound)
}

func TestExpiredMail(t *testing.T) {
	e := newEnv(t, mail.Config{DefaultExpiry: time.Hour})
	ctx := functionstest.Context(t)
	bob := e.newPlayer(t)
	gift := e.gift(t, bob, "gold", 1)
	e.clk.Advance(30 * time.Minute)
	fresh := e.note(t, bob, "fresh")
	e.clk.Advance(31 * time.Minute) // gift expired, fresh not

	out, err := e.list(ctx, bob, "", 0)
	if err != nil || len(out.Mails) != 1 || out.Mails[0].Id != fresh || out.Total != 1 || out.Unread != 1 {
		t.Fatalf("list = %v, %v; want only %s", out, err, fresh)
	}
	before := e.mem.Snapshot()
	_, err = e.claim(ctx, bob, "", gift)
	functionstest.WantCode(t, err, gamemesh.CodeExpired)
	err = functionstest.CallAs(ctx, e.reg, bob, "", "mail", "read", &gamev1.ReadMailRequest{MailId: gift}, &gamev1.ReadMailResponse{})
	functionstest.WantCode(t, err, gamemesh.CodeExpired)
	functionstest.WantSame(t, before, e.mem.Snapshot())
	if len(e.pending(t, bob)) != 0 || len(e.bus.Published()) != 0 {
		t.Fatal("an expired mail was claimed")
	}

	// The next write to the box drops it for good.
	e.note(t, bob, "sweep")
	_, err = e.claim(ctx, bob, "", gift)
	functionstest.WantCode(t, err, gamemesh.CodeNotFound)
	if got := e.ids(t, bob); len(got) != 2 {
		t.Fatalf("box = %v, want 2 live mails", got)
	}
}

// A page of the largest mails stays under MaxPageBytes (and so inside a
// client's frame limit): it ends early, and the next pages hold the rest.
func TestListPageBoundedInBytes(t *testing.T) {
	e := newEnv(t, mail.Config{})
	ctx := functionstest.Context(t)
	bob := e.newPlayer(t)
	body := strings.Repeat("x", mail.MaxBodyLen)
	var items []*gamev1.Item
	for _, id := range gamedata.Items().IDs()[:mail.DefaultMaxAttachments] {
		items = append(items, &gamev1.Item{Id: id, Count: 1})
	}
	const n = 50
	for i := range n {
		if _, err := e.send(ctx, "", &gamev1.SendMailRequest{To: string(bob), Subject: strings.Repeat("s", mail.MaxSubjectLen),
			Body: body, Attachments: items, RequestId: fmt.Sprintf("big-mail-%04d", i)}); err != nil {
			t.Fatal(err)
		}
		e.clk.Advance(time.Millisecond)
	}
	seen, token, pages := map[string]bool{}, "", 0
	for {
		out, err := e.list(ctx, bob, token, mail.MaxPageSize)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if size := proto.Size(out); size > mail.MaxPageBytes+1024 {
			t.Fatalf("page %d is %d bytes, over the %d bound", pages, size, mail.MaxPageBytes)
		}
		for _, m := range out.Mails {
			if seen[m.Id] {
				t.Fatalf("mail %s on two pages", m.Id)
			}
			seen[m.Id] = true
		}
		if token = out.NextPageToken; token == "" {
			break
		}
	}
	if len(seen) != n || pages < 2 {
		t.Fatalf("%d mails over %d pages, want all %d over several pages", len(seen), pages, n)
	}
}
