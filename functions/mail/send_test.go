package mail_test

import (
	"math"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	"github.com/gamemesh/gamemesh/functions/mail"
	"github.com/gamemesh/gamemesh/gamedata"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

func TestSendDeliversAndPushes(t *testing.T) {
	e := newEnv(t, mail.Config{})
	ctx := functionstest.Context(t)
	alice, bob := e.newPlayer(t), e.newPlayer(t)
	id, err := e.send(ctx, alice, &gamev1.SendMailRequest{To: string(bob), Subject: "hi", Body: "line 1\nline 2", RequestId: "req-00000001"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.list(ctx, bob, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Mails) != 1 || out.Total != 1 || out.Unread != 1 {
		t.Fatalf("list = %v", out)
	}
	m := out.Mails[0]
	if m.Id != id || m.From != string(alice) || m.Subject != "hi" || m.Body != "line 1\nline 2" || m.Read || m.Claimed {
		t.Fatalf("mail = %v", m)
	}
	if got := m.ExpiresAtMs - m.SentAtMs; got != mail.DefaultExpiry.Milliseconds() {
		t.Fatalf("expiry %d ms after sending, want %d", got, mail.DefaultExpiry.Milliseconds())
	}
	if len(e.pushes.pushes) != 1 || e.pushes.pushes[0].player != bob || e.pushes.pushes[0].route != "mail.new" {
		t.Fatalf("pushes = %+v", e.pushes.pushes)
	}
	var np gamev1.NewMailPush
	if err := proto.Unmarshal(e.pushes.pushes[0].body, &np); err != nil || np.MailId != id || np.From != string(alice) {
		t.Fatalf("push body = %v, %v", &np, err)
	}
	// A service sends as "system".
	e.note(t, bob, "from the system")
	out, _ = e.list(ctx, bob, "", 0)
	if out.Mails[0].From != mail.SystemSender {
		t.Fatalf("service mail from %q", out.Mails[0].From)
	}
}

func TestSendToUnknownPlayer(t *testing.T) {
	e := newEnv(t, mail.Config{})
	ctx := functionstest.Context(t)
	alice := e.newPlayer(t)
	before := e.mem.Snapshot()
	for _, to := range []string{"pnosuchplayer000000000", "Not A Player", "x"} {
		_, err := e.send(ctx, alice, &gamev1.SendMailRequest{To: to, Subject: "hi", RequestId: "req-00000001"})
		functionstest.WantCode(t, err, gamemesh.CodeNotFound)
		if gamemesh.MessageOf(err) != "no such player" {
			t.Fatalf("message %q", gamemesh.MessageOf(err))
		}
	}
	_, err := e.send(ctx, alice, &gamev1.SendMailRequest{Subject: "hi", RequestId: "req-00000001"})
	functionstest.WantCode(t, err, gamemesh.CodeInvalidArgument)
	functionstest.WantSame(t, before, e.mem.Snapshot())
	if len(e.pushes.pushes) != 0 {
		t.Fatal("pushed a mail that was not sent")
	}
}

func TestSendRefusesBadInput(t *testing.T) {
	e := newEnv(t, mail.Config{})
	ctx := functionstest.Context(t)
	alice, bob := e.newPlayer(t), e.newPlayer(t)
	e.note(t, bob, "existing") // so that "nothing changed" covers an existing box
	ok := func() *gamev1.SendMailRequest {
		return &gamev1.SendMailRequest{To: string(bob), Subject: "s", Body: "b", RequestId: gamemesh.NewID()}
	}
	items := func(n int) []*gamev1.Item {
		out := make([]*gamev1.Item, n)
		ids := gamedata.Items().IDs()
		for i := range out {
			out[i] = &gamev1.Item{Id: ids[i%len(ids)], Count: 1}
		}
		return out
	}
	cases := []struct {
		name   string
		from   gamemesh.PlayerID
		mutate func(*gamev1.SendMailRequest)
		code   gamemesh.Code
	}{
		{"negative count", "", func(r *gamev1.SendMailRequest) { r.Attachments = []*gamev1.Item{{Id: "gold", Count: -5}} }, gamemesh.CodeInvalidArgument},
		{"zero count", "", func(r *gamev1.SendMailRequest) { r.Attachments = []*gamev1.Item{{Id: "gold", Count: 0}} }, gamemesh.CodeInvalidArgument},
		{"count over max", "", func(r *gamev1.SendMailRequest) {
			r.Attachments = []*gamev1.Item{{Id: "gold", Count: mail.DefaultMaxCount + 1}}
		}, gamemesh.CodeInvalidArgument},
		{"absurd count", "", func(r *gamev1.SendMailRequest) { r.Attachments = []*gamev1.Item{{Id: "gold", Count: math.MaxInt64}} }, gamemesh.CodeInvalidArgument},
		{"min int count", "", func(r *gamev1.SendMailRequest) { r.Attachments = []*gamev1.Item{{Id: "gold", Count: math.MinInt64}} }, gamemesh.CodeInvalidArgument},
		{"too many attachments", "", func(r *gamev1.SendMailRequest) { r.Attachments = items(mail.DefaultMaxAttachments + 1) }, gamemesh.CodeInvalidArgument},
		{"bad item id", "", func(r *gamev1.SendMailRequest) { r.Attachments = []*gamev1.Item{{Id: "Gold!", Count: 1}} }, gamemesh.CodeInvalidArgument},
		{"empty item id", "", func(r *gamev1.SendMailRequest) { r.Attachments = []*gamev1.Item{{Id: "", Count: 1}} }, gamemesh.CodeInvalidArgument},
		{"duplicate item", "", func(r *gamev1.SendMailRequest) {
			r.Attachments = []*gamev1.Item{{Id: "gold", Count: 1}, {Id: "gold", Count: 2}}
		}, gamemesh.CodeInvalidArgument},
		{"player attaches items", alice, func(r *gamev1.SendMailRequest) { r.Attachments = []*gamev1.Item{{Id: "gold", Count: 1}} }, gamemesh.CodePermissionDenied},
		{"subject too long", alice, func(r *gamev1.SendMailRequest) { r.Subject = strings.Repeat("s", mail.MaxSubjectLen+1) }, gamemesh.CodeInvalidArgument},
		{"subject multibyte too long", alice, func(r *gamev1.SendMailRequest) { r.Subject = strings.Repeat("é", 33) }, gamemesh.CodeInvalidArgument},
		{"subject newline", alice, func(r *gamev1.SendMailRequest) { r.Subject = "a\nb" }, gamemesh.CodeInvalidArgument},
		{"subject escape", alice, func(r *gamev1.SendMailRequest) { r.Subject = "a\x1b[31mb" }, gamemesh.CodeInvalidArgument},
		{"body too long", alice, func(r *gamev1.SendMailRequest) { r.Body = strings.Repeat("b", mail.MaxBodyLen+1) }, gamemesh.CodeInvalidArgument},
		{"body nul", alice, func(r *gamev1.SendMailRequest) { r.Body = "a\x00b" }, gamemesh.CodeInvalidArgument},
		{"body carriage return", alice, func(r *gamev1.SendMailRequest) { r.Body = "a\rb" }, gamemesh.CodeInvalidArgument},
		{"body C1 control", alice, func(r *gamev1.SendMailRequest) { r.Body = "a\u0085b" }, gamemesh.CodeInvalidArgument},
		{"empty mail", alice, func(r *gamev1.SendMailRequest) { r.Subject, r.Body = "", "" }, gamemesh.CodeInvalidArgument},
		{"no request id", alice, func(r *gamev1.SendMailRequest) { r.RequestId = "" }, gamemesh.CodeInvalidArgument},
		{"short request id", alice, func(r *gamev1.SendMailRequest) { r.RequestId = "1234567" }, gamemesh.CodeInvalidArgument},
		{"long request id", alice, func(r *gamev1.SendMailRequest) { r.RequestId = strings.Repeat("r", 65) }, gamemesh.CodeInvalidArgument},
		{"request id with space", alice, func(r *gamev1.SendMailRequest) { r.RequestId = "req 00000001" }, gamemesh.CodeInvalidArgument},
		// Larger than the route's MaxBody: refused by the registry before the handler.
		{"body too large for route", alice, func(r *gamev1.SendMailRequest) { r.Body = strings.Repeat("b", 8<<10) }, gamemesh.CodeBodyTooLarge},
		{"attachments too large for route", "", func(r *gamev1.SendMailRequest) {
			for i := range 100 {
				r.Attachments = append(r.Attachments, &gamev1.Item{Id: strings.Repeat(string(rune('a'+i%26)), 64), Count: mail.DefaultMaxCount})
			}
		}, gamemesh.CodeBodyTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.mem.Snapshot()
			req := ok()
			c.mutate(req)
			_, err := e.send(ctx, c.from, req)
			functionstest.WantCode(t, err, c.code)
			functionstest.WantSame(t, before, e.mem.Snapshot())
		})
	}
	// The limits themselves are accepted.
	req := ok()
	req.Subject, req.Body = strings.Repeat("s", mail.MaxSubjectLen), strings.Repeat("b\n", mail.MaxBodyLen/2)
	req.Attachments = items(mail.DefaultMaxAttachments)
	req.Attachments[0].Count = mail.DefaultMaxCount
	if _, err := e.send(ctx, "", req); err != nil {
		t.Fatalf("a mail at every limit was refused: %v", err)
	}
}

// Invalid UTF-8 in a string field cannot even be decoded: BAD_REQUEST.
func TestSendRefusesInvalidUTF8(t *testing.T) {
	e := newEnv(t, mail.Config{})
	ctx := functionstest.Context(t)
	alice, bob := e.newPlayer(t), e.newPlayer(t)
	var body []byte
	body = protowire.AppendTag(body, 1, protowire.BytesType)
	body = protowire.AppendString(body, string(bob))
	body = protowire.AppendTag(body, 3, protowire.BytesType)
	body = protowire.AppendString(body, "a\xffb")
	body = protowire.AppendTag(body, 5, protowire.BytesType)
	body = protowire.AppendString(body, "utf8-request-1")
	before := e.mem.Snapshot()
	_, err := e.reg.Call(ctx, gamemesh.Request{App: "mail", Method: "send", Player: alice, ID: "x1", Body: body})
	functionstest.WantCode(t, err, gamemesh.CodeBadRequest)
	functionstest.WantSame(t, before, e.mem.Snapshot())
}

func TestSendIsIdempotentByRequestID(t *testing.T) {
	e := newEnv(t, mail.Config{})
	ctx := functionstest.Context(t)
	alice, bob, carol := e.newPlayer(t), e.newPlayer(t), e.newPlayer(t)
	req := &gamev1.SendMailRequest{To: string(bob), Subject: "once", RequestId: "dup-request-1"}

	const n = 20
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { ids[i], errs[i] = e.send(ctx, alice, req) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("send %d = %q, %v; want %q", i, ids[i], errs[i], ids[0])
		}
	}
	if got := e.ids(t, bob); len(got) != 1 || got[0] != ids[0] {
		t.Fatalf("bob's box = %v, want one mail %s", got, ids[0])
	}
	if len(e.pushes.pushes) != 1 {
		t.Fatalf("%d pushes for one mail", len(e.pushes.pushes))
	}
	// The same id for different content is refused, nothing changes.
	before := e.mem.Snapshot()
	_, err := e.send(ctx, alice, &gamev1.SendMailRequest{To: string(bob), Subject: "different", RequestId: "dup-request-1"})
	functionstest.WantCode(t, err, gamemesh.CodeInvalidArgument)
	functionstest.WantSame(t, before, e.mem.Snapshot())
	// Another sender may use the same request id.
	if id, err := e.send(ctx, carol, req); err != nil || id == ids[0] {
		t.Fatalf("carol's send = %q, %v", id, err)
	}
	if got := e.ids(t, bob); len(got) != 2 {
		t.Fatalf("bob's box holds %d mails, want 2", len(got))
	}
}

func TestSendRetryAfterLostAnswer(t *testing.T) {
	e := newEnv(t, mail.Config{})
	ctx := functionstest.Context(t)
	bob := e.newPlayer(t)
	req := &gamev1.SendMailRequest{To: string(bob), Subject: "gift", RequestId: "lost-answer-1", Attachments: []*gamev1.Item{{Id: "gold", Count: 10}}}

	e.store.SetDown(true)
	_, err := e.send(ctx, "", req)
	functionstest.WantCode(t, err, gamemesh.CodeUnavailable)
	e.store.SetDown(false)
	if len(e.ids(t, bob)) != 0 {
		t.Fatal("a failed send delivered a mail")
	}

	e.store.LoseAcks(1) // written, but the answer is lost
	_, err = e.send(ctx, "", req)
	functionstest.WantCode(t, err, gamemesh.CodeUnavailable)
	id, err := e.send(ctx, "", req)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.ids(t, bob); len(got) != 1 || got[0] != id {
		t.Fatalf("bob's box = %v, want exactly %s", got, id)
	}
}

func TestMailboxFullRule(t *testing.T) {
	e := newEnv(t, mail.Config{MailboxCap: 4})
	ctx := functionstest.Context(t)
	bob := e.newPlayer(t)
	g1 := e.gift(t, bob, "gold", 1)
	e.note(t, bob, "n1") // the first to make room
	g2 := e.gift(t, bob, "gold", 2)
	n2 := e.note(t, bob, "n2")

	// Full: the oldest mail without unclaimed attachments (n1) makes room.
	n3 := e.note(t, bob, "n3")
	if got, want := e.ids(t, bob), []string{n3, n2, g2, g1}; !equal(got, want) {
		t.Fatalf("box = %v, want %v", got, want)
	}
	// A claimed mail no longer holds anything back: g1 goes next.
	if _, err := e.claim(ctx, bob, "", g1); err != nil {
		t.Fatal(err)
	}
	n4 := e.note(t, bob, "n4")
	if got, want := e.ids(t, bob), []string{n4, n3, n2, g2}; !equal(got, want) {
		t.Fatalf("box = %v, want %v", got, want)
	}
	// Fill with unclaimed gifts: every mail holds items, the box is full.
	g3 := e.gift(t, bob, "gold", 3)
	g4 := e.gift(t, bob, "gold", 4)
	g5 := e.gift(t, bob, "gold", 5)
	if got, want := e.ids(t, bob), []string{g5, g4, g3, g2}; !equal(got, want) {
		t.Fatalf("box = %v, want %v", got, want)
	}
	before := e.mem.Snapshot()
	_, err := e.send(ctx, "", &gamev1.SendMailRequest{To: string(bob), Subject: "no room", RequestId: "no-room-0001"})
	functionstest.WantCode(t, err, gamemesh.CodeLimitReached)
	if gamemesh.MessageOf(err) != "mailbox full" {
		t.Fatalf("message %q", gamemesh.MessageOf(err))
	}
	functionstest.WantSame(t, before, e.mem.Snapshot())
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A player's mail publishes one mail_sent game event with a stable id (a
// retried send republishes the same id); system mail publishes none.
func TestSendPublishesGameEvent(t *testing.T) {
	e := newEnv(t, mail.Config{})
	ctx := functionstest.Context(t)
	alice, bob := e.newPlayer(t), e.newPlayer(t)
	gameEvents := func() []gamemesh.Event {
		var out []gamemesh.Event
		for _, ev := range e.bus.Published() {
			if ev.Topic == mail.GameEventsTopic {
				out = append(out, ev)
			}
		}
		return out
	}
	req := &gamev1.SendMailRequest{To: string(bob), Subject: "hi", RequestId: "request-0001"}
	id, err := e.send(ctx, alice, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.send(ctx, alice, req); err != nil { // a retry of the same send
		t.Fatal(err)
	}
	evs := gameEvents()
	if len(evs) != 2 || evs[0].ID != "mail_sent-"+id || evs[1].ID != evs[0].ID {
		t.Fatalf("events %+v, want two with the id mail_sent-%s", evs, id)
	}
	var ge gamev1.GameEvent
	if err := proto.Unmarshal(evs[0].Data, &ge); err != nil || ge.PlayerId != string(alice) || ge.Kind != "mail_sent" || ge.Id != evs[0].ID {
		t.Fatalf("event %v (%v)", &ge, err)
	}
	e.gift(t, bob, "gold", 1)
	if n := len(gameEvents()); n != 2 {
		t.Fatalf("system mail published a game event (%d events)", n)
	}
}
