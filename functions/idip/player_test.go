package idip_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/client"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	"github.com/gamemesh/gamemesh/functions/idip"
	"github.com/gamemesh/gamemesh/gate"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

func waitEnded(t *testing.T, c *client.Conn) error {
	t.Helper()
	select {
	case <-c.Done():
		return c.Err()
	case <-time.After(5 * time.Second):
		t.Fatal("the session was not closed")
		return nil
	}
}

func TestBanKicksTheOnlinePlayerAndBlocksTheNextLogin(t *testing.T) {
	w := newWorld(t, worldOpts{})
	g := w.startGate("gate-1")
	p, dev := w.newPlayer()
	conn, _ := w.connect(g, dev)
	other, _ := w.newPlayer()
	_ = other

	ctx := context.Background()
	var res idip.SanctionResult
	if _, err := w.cli.Post(ctx, "player.ban", idip.SanctionRequest{Mutation: idip.Mutation{Serial: "ban-1"}, PlayerID: string(p),
		Reason: "speed hack", DurationS: 3600}, &res); err != nil {
		t.Fatal(err)
	}
	if !res.Kicked || res.Gate != "gate-1" || res.UntilMs < time.Now().Add(59*time.Minute).UnixMilli() {
		t.Fatalf("ban result %+v: want kicked from gate-1, until in an hour", res)
	}
	err := waitEnded(t, conn)
	if gamemesh.CodeOf(err) != gamemesh.CodeBanned || !strings.Contains(gamemesh.MessageOf(err), "speed hack") {
		t.Fatalf("session ended with %v, want a BANNED kick with the reason", err)
	}
	_, err = w.guest(dev)
	functionstest.WantCode(t, err, gamemesh.CodeBanned)
	eventually(t, "the kicked session leaves the directory", func() bool {
		_, err := w.dir.Locate(ctx, p)
		return err != nil
	})

	var info idip.PlayerInfo
	if _, err := w.cli.Get(ctx, "player", url.Values{"player_id": {string(p)}}, &info); err != nil {
		t.Fatal(err)
	}
	if info.Ban == nil || info.Ban.Reason != "speed hack" || info.Ban.UntilMs != res.UntilMs || info.Online {
		t.Fatalf("player after the ban: %+v", info)
	}
	// Unban: the next login works.
	if _, err := w.cli.Post(ctx, "player.unban", idip.PlayerRequest{Mutation: idip.Mutation{Serial: "unban-1"}, PlayerID: string(p)}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := w.guest(dev); err != nil {
		t.Fatalf("login after the unban: %v", err)
	}
	// A ban of an offline player works and kicks nobody.
	if _, err := w.cli.Post(ctx, "player.ban", idip.SanctionRequest{Mutation: idip.Mutation{Serial: "ban-2"}, PlayerID: string(other), Reason: "x"}, &res); err != nil || res.Kicked || res.UntilMs != 0 {
		t.Fatalf("ban of an offline player: %+v, %v", res, err)
	}
}

func TestKick(t *testing.T) {
	w := newWorld(t, worldOpts{})
	g := w.startGate("gate-1")
	p, dev := w.newPlayer()
	ctx := context.Background()
	_, err := w.cli.Post(ctx, "player.kick", idip.KickRequest{Mutation: idip.Mutation{Serial: "kick-1"}, PlayerID: string(p), Reason: "server move"}, nil)
	if gamemesh.CodeOf(err) != gamemesh.CodeNotFound {
		t.Fatalf("kick of an offline player: %v, want NOT_FOUND", err)
	}
	conn, _ := w.connect(g, dev)
	// The refused kick released its serial: the same serial now kicks.
	var res idip.KickResult
	if _, err := w.cli.Post(ctx, "player.kick", idip.KickRequest{Mutation: idip.Mutation{Serial: "kick-1"}, PlayerID: string(p), Reason: "server move"}, &res); err != nil {
		t.Fatal(err)
	}
	if res.Gate != "gate-1" || res.Session != conn.SessionID() {
		t.Fatalf("kick result %+v, want gate-1 and session %s", res, conn.SessionID())
	}
	if err := waitEnded(t, conn); gamemesh.CodeOf(err) != gamemesh.CodeKicked || gamemesh.MessageOf(err) != "server move" {
		t.Fatalf("session ended with %v", err)
	}
	if _, err := w.guest(dev); err != nil {
		t.Fatalf("a kick is not a ban: %v", err)
	}
}

func TestMuteRefusesSpeech(t *testing.T) {
	w := newWorld(t, worldOpts{})
	g := w.startGate("gate-1")
	p, dev := w.newPlayer()
	friend, _ := w.newPlayer()
	conn, _ := w.connect(g, dev)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var created gamev1.GuildResponse
	if err := conn.Call(ctx, "guild.create", &gamev1.CreateGuildRequest{Name: "Quiet Ones"}, &created); err != nil {
		t.Fatal(err)
	}
	send := func() error {
		return conn.Call(ctx, "mail.send", &gamev1.SendMailRequest{To: string(friend), Subject: "hi", RequestId: gamemesh.NewID()}, &gamev1.SendMailResponse{})
	}
	notice := func() error {
		return conn.Call(ctx, "guild.notice", &gamev1.GuildNoticeRequest{GuildId: created.GetGuild().GetId(), Notice: "welcome"}, &gamev1.GuildResponse{})
	}
	if err := send(); err != nil {
		t.Fatalf("mail before the mute: %v", err)
	}
	if _, err := w.cli.Post(ctx, "player.mute", idip.SanctionRequest{Mutation: idip.Mutation{Serial: "mute-1"}, PlayerID: string(p),
		Reason: "insults", DurationS: 600}, nil); err != nil {
		t.Fatal(err)
	}
	for name, speak := range map[string]func() error{"mail.send": send, "guild.notice": notice} {
		err := speak()
		if gamemesh.CodeOf(err) != gamemesh.CodeMuted || !strings.Contains(gamemesh.MessageOf(err), "insults") {
			t.Errorf("%s while muted: %v, want MUTED with the reason", name, err)
		}
	}
	// Reading is not speaking; the session stays up.
	if err := conn.Call(ctx, "mail.list", &gamev1.ListMailRequest{}, &gamev1.ListMailResponse{}); err != nil {
		t.Fatalf("mail.list while muted: %v", err)
	}
	if got := w.mailbox(friend).GetTotal(); got != 1 {
		t.Fatalf("friend has %d mails, want only the one sent before the mute", got)
	}
	// An operator's mail to others is not the player speaking.
	if _, err := w.cli.Post(ctx, "mail", idip.MailRequest{Mutation: idip.Mutation{Serial: "mail-to-muted"}, PlayerID: string(p), Subject: "Warning"}, nil); err != nil {
		t.Fatalf("mail to a muted player: %v", err)
	}
	if _, err := w.cli.Post(ctx, "player.unmute", idip.PlayerRequest{Mutation: idip.Mutation{Serial: "unmute-1"}, PlayerID: string(p)}, nil); err != nil {
		t.Fatal(err)
	}
	if err := send(); err != nil {
		t.Fatalf("mail after the unmute: %v", err)
	}
	if err := notice(); err != nil {
		t.Fatalf("guild notice after the unmute: %v", err)
	}
}

func TestNoticeReachesOnlinePlayersOnTwoGates(t *testing.T) {
	w := newWorld(t, worldOpts{})
	ga, gb := w.startGate("gate-a"), w.startGate("gate-b")
	var all []*pushes
	for _, g := range []*gate.Gate{ga, ga, gb} {
		_, dev := w.newPlayer()
		_, p := w.connect(g, dev)
		all = append(all, p)
	}
	var res idip.NoticeResult
	if _, err := w.cli.Post(context.Background(), "notice", idip.NoticeRequest{Mutation: idip.Mutation{Serial: "notice-1"}, Text: "Servers restart at 03:00 UTC"}, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Gates) != 2 || res.Gates[0] != "gate-a" || res.Gates[1] != "gate-b" || res.NoticeID == "" {
		t.Fatalf("notice result %+v", res)
	}
	for i, p := range all {
		eventually(t, "the notice on every session", func() bool { return len(p.notices()) == 1 })
		if n := p.notices()[0]; n.GetText() != "Servers restart at 03:00 UTC" || n.GetId() != res.NoticeID || n.GetSentAtMs() == 0 {
			t.Fatalf("player %d got %v", i, n)
		}
	}
	// The same serial again is a replay: nobody sees it twice.
	if ans, err := w.cli.Post(context.Background(), "notice", idip.NoticeRequest{Mutation: idip.Mutation{Serial: "notice-1"}, Text: "Servers restart at 03:00 UTC"}, nil); err != nil || !ans.OK {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	for _, p := range all {
		if n := len(p.notices()); n != 1 {
			t.Fatalf("a player saw the notice %d times after a replay", n)
		}
	}
	// A gate that cannot be reached fails the notice, and the serial can be sent again.
	w.bus.setDown(true)
	_, err := w.cli.Post(context.Background(), "notice", idip.NoticeRequest{Mutation: idip.Mutation{Serial: "notice-2"}, Text: "again"}, nil)
	w.bus.setDown(false)
	if gamemesh.CodeOf(err) != gamemesh.CodeUnavailable {
		t.Fatalf("notice with the bus down: %v", err)
	}
}

func TestOnlineCountSumsTheGates(t *testing.T) {
	w := newWorld(t, worldOpts{})
	w.announce("gate-1", 120)
	w.announce("gate-2", 30)
	var res idip.OnlineResult
	if _, err := w.cli.Get(context.Background(), "online", nil, &res); err != nil {
		t.Fatal(err)
	}
	if res.Total != 150 || len(res.Gates) != 2 || res.Gates[0].ID != "gate-1" || res.Gates[0].Online != 120 || res.Gates[1].Online != 30 {
		t.Fatalf("online = %+v", res)
	}
}

func TestQueryPlayerShowsInventoryLocationAndSanctions(t *testing.T) {
	w := newWorld(t, worldOpts{})
	g := w.startGate("gate-1")
	p, dev := w.newPlayer()
	ctx := context.Background()
	var sent idip.MailResult
	if _, err := w.cli.Post(ctx, "mail", idip.MailRequest{Mutation: idip.Mutation{Serial: "gift-1"}, PlayerID: string(p), Subject: "Gift",
		Attachments: []idip.Item{{ID: "gold", Count: 250}, {ID: "potion", Count: 2}}}, &sent); err != nil {
		t.Fatal(err)
	}
	if err := functionstest.CallAs(ctx, w.reg, p, "", "mail", "claim", &gamev1.ClaimMailRequest{MailId: sent.MailID}, &gamev1.ClaimMailResponse{}); err != nil {
		t.Fatal(err)
	}
	conn, _ := w.connect(g, dev)
	if _, err := w.cli.Post(ctx, "player.mute", idip.SanctionRequest{Mutation: idip.Mutation{Serial: "mute-q"}, PlayerID: string(p), Reason: "spam"}, nil); err != nil {
		t.Fatal(err)
	}
	var info idip.PlayerInfo
	if _, err := w.cli.Get(ctx, "player", url.Values{"player_id": {string(p)}}, &info); err != nil {
		t.Fatal(err)
	}
	if info.Inventory["gold"] != 250 || info.Inventory["potion"] != 2 || !info.Online || info.Gate != "gate-1" || info.Session != conn.SessionID() ||
		info.Mute == nil || info.Mute.UntilMs != 0 || info.Ban != nil || info.CreatedAtMs == 0 || info.ProfileError != "" {
		t.Fatalf("player info %+v", info)
	}
	st, ans, _ := w.send(mustGet(t, w, "player?player_id=pnosuchplayer00000000"))
	if st != http.StatusBadRequest || !strings.Contains(ans.Message, "unknown player") {
		t.Fatalf("query of an unknown player: %d %+v", st, ans)
	}
	if e := w.audit(map[string]string{"player": string(p), "command": "player"}); len(e) != 1 || e[0].Code != "OK" {
		t.Fatalf("audit of the query: %+v", e)
	}
}

func mustGet(t *testing.T, w *world, rel string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, w.app.URL()+idip.PathPrefix+rel, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	return req
}
