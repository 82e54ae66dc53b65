package mail_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	"github.com/gamemesh/gamemesh/functions/mail"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

func gold(n int64) []*gamev1.Item { return []*gamev1.Item{{Id: "gold", Count: n}} }

// keysWithPrefix counts the map store's keys starting with prefix.
func keysWithPrefix(snap map[string]string, prefix string) int {
	n := 0
	for k := range snap {
		if strings.HasPrefix(k, prefix) {
			n++
		}
	}
	return n
}

func TestBroadcastStoredOnceDeliveredOnRead(t *testing.T) {
	e := newEnv(t, mail.Config{})
	ctx := functionstest.Context(t)
	players := make([]gamemesh.PlayerID, 5)
	for i := range players {
		players[i] = e.newPlayer(t)
	}
	before := e.snapshot()
	id, err := e.broadcast(ctx, &gamev1.BroadcastMailRequest{Subject: "Server news", Body: "Patch day", Attachments: gold(50), RequestId: "bcast-news-0001"})
	if err != nil {
		t.Fatal(err)
	}
	after := e.snapshot()
	// Stored once: its record and the index, no key per player.
	if n := len(after) - len(before); n != 2 || keysWithPrefix(after, "mail/box/") != keysWithPrefix(before, "mail/box/") {
		t.Fatalf("broadcast wrote %d new keys and boxes went %d → %d; want 2 keys and no box", n,
			keysWithPrefix(before, "mail/box/"), keysWithPrefix(after, "mail/box/"))
	}

	out, err := e.list(ctx, players[0], "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Mails) != 1 || out.Mails[0].Id != id || out.Mails[0].BroadcastId != id || out.Mails[0].From != mail.SystemSender ||
		out.Mails[0].Subject != "Server news" || out.Mails[0].Attachments[0].Count != 50 || out.Unread != 1 {
		t.Fatalf("list = %v", out)
	}
	// Only the reader's box was written.
	if got := keysWithPrefix(e.snapshot(), "mail/box/"); got != 1 {
		t.Fatalf("%d boxes after one player read, want 1", got)
	}
	// Its attachments are claimed once, like personal mail.
	c, err := e.claim(ctx, players[0], "", id)
	if err != nil || c.Items[0].Count != 50 {
		t.Fatalf("claim = %v, %v", c, err)
	}
	_, err = e.claim(ctx, players[0], "", id)
	functionstest.WantCode(t, err, gamemesh.CodeAlreadyDone)
	// Reading again delivers nothing twice.
	out, _ = e.list(ctx, players[0], "", 0)
	if len(out.Mails) != 1 || !out.Mails[0].Claimed {
		t.Fatalf("after claim: %v", out.Mails)
	}
	// Another player gets its own copy through read (claim or claimAll deliver too).
	m, err := e.read(ctx, players[1], id)
	if err != nil || m.Subject != "Server news" || !m.Read {
		t.Fatalf("read = %v, %v", m, err)
	}
	all, err := e.claimAll(ctx, players[2], "")
	if err != nil || len(all.MailIds) != 1 || all.MailIds[0] != id || all.Items[0].Count != 50 {
		t.Fatalf("claimAll = %v, %v", all, err)
	}
	if g := e.pending(t, players[2]); len(g) != 1 || g[0].Id != all.GrantIds[0] {
		t.Fatalf("pending = %v", g)
	}
	// A player who registers later still gets it (no audience).
	late := e.newPlayer(t)
	if ids := e.ids(t, late); len(ids) != 1 || ids[0] != id {
		t.Fatalf("late player's box = %v", ids)
	}
}

func TestBroadcastIdempotentByRequestID(t *testing.T) {
	e := newEnv(t, mail.Config{})
	ctx := functionstest.Context(t)
	req := &gamev1.BroadcastMailRequest{Subject: "once", Attachments: gold(1), RequestId: "bcast-once-0001"}
	const n = 20
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { ids[i], errs[i] = e.broadcast(ctx, req) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("broadcast %d = %q, %v; want %q", i, ids[i], errs[i], ids[0])
		}
	}
	p := e.newPlayer(t)
	if got := e.ids(t, p); len(got) != 1 {
		t.Fatalf("box = %v, want one mail", got)
	}
	before := e.snapshot()
	_, err := e.broadcast(ctx, &gamev1.BroadcastMailRequest{Subject: "other", RequestId: "bcast-once-0001"})
	functionstest.WantCode(t, err, gamemesh.CodeInvalidArgument)
	e.unchanged(t, before)
}

// Two devices (and more) of one player reading at once: the broadcast lands
// in the box exactly once.
func TestBroadcastMaterialisedOnceUnderConcurrentReads(t *testing.T) {
	testConcurrentMaterialisation(t, newEnv(t, mail.Config{}))
}

func TestEmbeddedBroadcastMaterialisedOnceUnderConcurrentReads(t *testing.T) {
	testConcurrentMaterialisation(t, newEmbeddedEnv(t, mail.Config{}))
}

func testConcurrentMaterialisation(t *testing.T, e *env) {
	ctx := functionstest.Context(t)
	p := e.newPlayer(t)
	var ids []string
	for i, req := range []string{"bcast-race-0001", "bcast-race-0002", "bcast-race-0003"} {
		id, err := e.broadcast(ctx, &gamev1.BroadcastMailRequest{Subject: "race", Attachments: gold(int64(i + 1)), RequestId: req})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	const readers = 60
	errs := make([]error, readers)
	var wg sync.WaitGroup
	for i := range readers {
		wg.Go(func() {
			switch i % 4 {
			case 0, 1:
				_, errs[i] = e.list(ctx, p, "", 0)
			case 2:
				_, errs[i] = e.read(ctx, p, ids[i%3])
			default:
				_, errs[i] = e.claimAll(ctx, p, "")
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("reader %d: %v", i, err)
		}
	}
	got := e.ids(t, p)
	if len(got) != 3 {
		t.Fatalf("box holds %v, want the 3 broadcasts once each", got)
	}
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Fatalf("broadcast %s in the box %d times", id, seen[id])
		}
	}
	// Each attachment was claimed once in all.
	var total int64
	for _, g := range e.pending(t, p) {
		for _, it := range g.Items {
			total += it.Count
		}
	}
	if total != 1+2+3 {
		t.Fatalf("pending grants hold %d gold, want 6", total)
	}
}

func TestBroadcastAudience(t *testing.T) {
	e := newEnv(t, mail.Config{AudienceRecheck: time.Hour})
	ctx := functionstest.Context(t)
	veteran, newbie, low, high := e.newPlayer(t), e.newPlayer(t), e.newPlayer(t), e.newPlayer(t)
	cut := e.clk.Now()
	e.setProfile(veteran, 15, cut.Add(-48*time.Hour))
	e.setProfile(newbie, 15, cut.Add(time.Hour))
	e.setProfile(low, 5, cut.Add(-48*time.Hour))
	e.setProfile(high, 40, cut.Add(-48*time.Hour))
	id, err := e.broadcast(ctx, &gamev1.BroadcastMailRequest{Subject: "for veterans 10-20", Attachments: gold(5), RequestId: "bcast-aud-0001",
		Audience: &gamev1.Audience{MinLevel: 10, MaxLevel: 20, RegisteredBeforeMs: cut.UnixMilli()}})
	if err != nil {
		t.Fatal(err)
	}
	has := func(p gamemesh.PlayerID) bool {
		for _, m := range e.ids(t, p) {
			if m == id {
				return true
			}
		}
		return false
	}
	if !has(veteran) || has(newbie) || has(low) || has(high) {
		t.Fatalf("delivered to veteran %v newbie %v low %v high %v; want only the veteran", has(veteran), has(newbie), has(low), has(high))
	}
	// The low-level player reaches the range: checked again after AudienceRecheck, not before.
	e.setProfile(low, 12, cut.Add(-48*time.Hour))
	calls := e.profileCall
	if has(low) {
		t.Fatal("delivered before the recheck time")
	}
	if e.profileCall != calls {
		t.Fatal("profile asked again before the recheck time")
	}
	e.clk.Advance(time.Hour)
	if !has(low) {
		t.Fatal("not delivered after the player reached the range")
	}
	// Registered too late: settled for good, never asked again.
	e.setProfile(newbie, 15, cut.Add(-time.Hour))
	e.clk.Advance(2 * time.Hour)
	if has(newbie) {
		t.Fatal("a player registered after the bound got it")
	}
	// An empty audience needs no profile.
	if _, err := e.broadcast(ctx, &gamev1.BroadcastMailRequest{Subject: "all", RequestId: "bcast-aud-0002"}); err != nil {
		t.Fatal(err)
	}
	calls = e.profileCall
	if n := len(e.ids(t, veteran)); n != 2 || e.profileCall != calls {
		t.Fatalf("veteran has %d mails after %d profile calls; want both broadcasts, no call", n, e.profileCall-calls)
	}
}

func TestBroadcastWaitsForProfileAndRoom(t *testing.T) {
	e := newEnv(t, mail.Config{MailboxCap: 2})
	ctx := functionstest.Context(t)
	p := e.newPlayer(t)
	e.setProfile(p, 30, e.clk.Now().Add(-time.Hour))
	id, err := e.broadcast(ctx, &gamev1.BroadcastMailRequest{Subject: "level 20+", RequestId: "bcast-wait-0001", Audience: &gamev1.Audience{MinLevel: 20}})
	if err != nil {
		t.Fatal(err)
	}
	// Profile unavailable: the box is served, the broadcast waits (not marked).
	e.setProfileDown(true)
	if got := e.ids(t, p); len(got) != 0 {
		t.Fatalf("box = %v while the profile is unavailable", got)
	}
	e.setProfileDown(false)
	if got := e.ids(t, p); len(got) != 1 || got[0] != id {
		t.Fatalf("box = %v once the profile is back", got)
	}
	// A box full of unclaimed attachments: the broadcast waits for room.
	q := e.newPlayer(t)
	g1, _ := e.gift(t, q, "gold", 1), e.gift(t, q, "gold", 2)
	all, err := e.broadcast(ctx, &gamev1.BroadcastMailRequest{Subject: "for all", RequestId: "bcast-wait-0002"})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.ids(t, q); len(got) != 2 {
		t.Fatalf("full box = %v", got)
	}
	if _, err := e.claim(ctx, q, "", g1); err != nil {
		t.Fatal(err)
	}
	got := e.ids(t, q)
	if len(got) != 2 || got[0] != all {
		t.Fatalf("box after making room = %v, want the broadcast first", got)
	}
}

func TestBroadcastExpiry(t *testing.T) {
	e := newEnv(t, mail.Config{})
	ctx := functionstest.Context(t)
	early, late := e.newPlayer(t), e.newPlayer(t)
	exp := e.clk.Now().Add(2 * time.Hour)
	id, err := e.broadcast(ctx, &gamev1.BroadcastMailRequest{Subject: "short", Attachments: gold(3), RequestId: "bcast-exp-00001", ExpiresAtMs: exp.UnixMilli()})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := e.list(ctx, early, "", 0)
	if len(out.Mails) != 1 || out.Mails[0].ExpiresAtMs != exp.UnixMilli() {
		t.Fatalf("early list = %v", out.Mails)
	}
	e.clk.Advance(2 * time.Hour)
	// Expired in the box: not listed, not claimable.
	if got := e.ids(t, early); len(got) != 0 {
		t.Fatalf("expired broadcast listed: %v", got)
	}
	_, err = e.claim(ctx, early, "", id)
	functionstest.WantCode(t, err, gamemesh.CodeExpired)
	out2, err := e.claimAll(ctx, early, "")
	if err != nil || len(out2.MailIds) != 0 {
		t.Fatalf("claimAll of an expired broadcast = %v, %v", out2, err)
	}
	// Not delivered once expired.
	if got := e.ids(t, late); len(got) != 0 {
		t.Fatalf("late reader got %v", got)
	}
	if len(e.pending(t, early)) != 0 {
		t.Fatal("an expired broadcast was claimed")
	}
}

func TestBroadcastLimitAndRefusals(t *testing.T) {
	e := newEnv(t, mail.Config{MaxLiveBroadcasts: 2})
	ctx := functionstest.Context(t)
	p := e.newPlayer(t)
	now := e.clk.Now()
	ok := func() *gamev1.BroadcastMailRequest {
		return &gamev1.BroadcastMailRequest{Subject: "s", Body: "b", Attachments: gold(1), RequestId: gamemesh.NewID()}
	}
	cases := []struct {
		name   string
		mutate func(*gamev1.BroadcastMailRequest)
	}{
		{"no request id", func(r *gamev1.BroadcastMailRequest) { r.RequestId = "" }},
		{"negative count", func(r *gamev1.BroadcastMailRequest) { r.Attachments = gold(-1) }},
		{"zero count", func(r *gamev1.BroadcastMailRequest) { r.Attachments = gold(0) }},
		{"unknown item", func(r *gamev1.BroadcastMailRequest) { r.Attachments = []*gamev1.Item{{Id: "excalibur", Count: 1}} }},
		{"over stack cap", func(r *gamev1.BroadcastMailRequest) { r.Attachments = []*gamev1.Item{{Id: "iron_sword", Count: 2}} }},
		{"malformed item", func(r *gamev1.BroadcastMailRequest) { r.Attachments = []*gamev1.Item{{Id: "Gold", Count: 1}} }},
		{"empty", func(r *gamev1.BroadcastMailRequest) { r.Subject, r.Body, r.Attachments = "", "", nil }},
		{"subject control", func(r *gamev1.BroadcastMailRequest) { r.Subject = "a\x07b" }},
		{"from too long", func(r *gamev1.BroadcastMailRequest) { r.From = strings.Repeat("f", 33) }},
		{"from control", func(r *gamev1.BroadcastMailRequest) { r.From = "GM\n" }},
		{"expired already", func(r *gamev1.BroadcastMailRequest) { r.ExpiresAtMs = now.Add(-time.Second).UnixMilli() }},
		{"negative expiry", func(r *gamev1.BroadcastMailRequest) { r.ExpiresAtMs = -5 }},
		{"expiry too far", func(r *gamev1.BroadcastMailRequest) {
			r.ExpiresAtMs = now.Add(mail.DefaultMaxExpiry + time.Hour).UnixMilli()
		}},
		{"negative level", func(r *gamev1.BroadcastMailRequest) { r.Audience = &gamev1.Audience{MinLevel: -1} }},
		{"min above max", func(r *gamev1.BroadcastMailRequest) { r.Audience = &gamev1.Audience{MinLevel: 20, MaxLevel: 10} }},
		{"negative registered", func(r *gamev1.BroadcastMailRequest) { r.Audience = &gamev1.Audience{RegisteredBeforeMs: -1} }},
		{"template with subject", func(r *gamev1.BroadcastMailRequest) { r.Template = "welcome" }},
		{"params without template", func(r *gamev1.BroadcastMailRequest) { r.Params = map[string]string{"a": "b"} }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.snapshot()
			req := ok()
			c.mutate(req)
			_, err := e.broadcast(ctx, req)
			functionstest.WantCode(t, err, gamemesh.CodeInvalidArgument)
			e.unchanged(t, before)
		})
	}
	// Players cannot broadcast.
	err := e.call(ctx, p, "", "broadcast", ok(), &gamev1.BroadcastMailResponse{})
	functionstest.WantCode(t, err, gamemesh.CodeUnknownRoute)

	// At most MaxLiveBroadcasts live at once; room returns as they expire.
	short := ok()
	short.ExpiresAtMs = now.Add(time.Hour).UnixMilli()
	if _, err := e.broadcast(ctx, short); err != nil {
		t.Fatal(err)
	}
	if _, err := e.broadcast(ctx, ok()); err != nil {
		t.Fatal(err)
	}
	before := e.snapshot()
	_, err = e.broadcast(ctx, ok())
	functionstest.WantCode(t, err, gamemesh.CodeLimitReached)
	e.unchanged(t, before)
	e.clk.Advance(time.Hour)
	if _, err := e.broadcast(ctx, ok()); err != nil {
		t.Fatalf("after one expired: %v", err)
	}
}
