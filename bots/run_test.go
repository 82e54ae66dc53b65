package bots_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/bots"
	"github.com/gamemesh/gamemesh/client/clienttest"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// fakeGame is an in-memory mail and player backend behind a clienttest gate.
type fakeGame struct {
	srv *clienttest.Server
	// alwaysClaimed makes every claim answer ALREADY_DONE.
	alwaysClaimed bool
	// serverMail puts one server-wide mail in every box at its first list.
	serverMail bool

	mu        sync.Mutex
	mails     map[gamemesh.PlayerID][]*gamev1.Mail // oldest first
	inventory map[gamemesh.PlayerID]map[string]int64
	sent      map[string]string // sender/request id → mail id
	crossSent int               // mails to another player
	welcomed  map[gamemesh.PlayerID]int
	guildOf   map[gamemesh.PlayerID]string // player → guild id
	guildSize map[string]int
	guildOps  map[string]int // route → successful calls
}

func startGame(t *testing.T, g *fakeGame) *fakeGame {
	t.Helper()
	g.mails = make(map[gamemesh.PlayerID][]*gamev1.Mail)
	g.inventory = make(map[gamemesh.PlayerID]map[string]int64)
	g.sent = make(map[string]string)
	g.welcomed = make(map[gamemesh.PlayerID]int)
	g.guildOf = make(map[gamemesh.PlayerID]string)
	g.guildSize = make(map[string]int)
	srv, err := clienttest.Start(clienttest.Config{Handler: g.handle, HeartbeatInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	g.srv = srv
	t.Cleanup(func() { srv.Close() })
	return g
}

func (g *fakeGame) handle(_ context.Context, p gamemesh.PlayerID, route string, body []byte) ([]byte, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch route {
	case bots.RouteMailSend:
		var req gamev1.SendMailRequest
		if err := proto.Unmarshal(body, &req); err != nil || req.GetTo() == "" || req.GetRequestId() == "" {
			return nil, gamemesh.Errorf(gamemesh.CodeBadRequest, "bad send")
		}
		if len(req.GetAttachments()) > 0 { // like the real mail app: players cannot mint items
			return nil, gamemesh.Errorf(gamemesh.CodePermissionDenied, "players cannot attach items")
		}
		key := string(p) + "/" + req.GetRequestId()
		if id, ok := g.sent[key]; ok {
			return proto.Marshal(&gamev1.SendMailResponse{MailId: id})
		}
		to := gamemesh.PlayerID(req.GetTo())
		m := &gamev1.Mail{Id: gamemesh.NewID(), From: string(p), Subject: req.GetSubject(), Attachments: req.GetAttachments()}
		g.mails[to] = append(g.mails[to], m)
		g.sent[key] = m.Id
		if to != p {
			g.crossSent++
		}
		push, _ := proto.Marshal(&gamev1.NewMailPush{MailId: m.Id, From: string(p), Subject: m.Subject})
		g.srv.Push(to, bots.PushMailNew, push)
		return proto.Marshal(&gamev1.SendMailResponse{MailId: m.Id})
	case bots.RouteMailClaimAll:
		return g.claimAll(p)
	case bots.RouteMailList:
		if g.serverMail && !slices.ContainsFunc(g.mails[p], func(m *gamev1.Mail) bool { return m.BroadcastId != "" }) {
			g.mails[p] = append(g.mails[p], &gamev1.Mail{Id: "b-news", From: "system", Subject: "Server news", BroadcastId: "b-news"})
		}
		resp := &gamev1.ListMailResponse{}
		ms := g.mails[p]
		for i := len(ms) - 1; i >= 0 && len(resp.Mails) < 50; i-- {
			resp.Mails = append(resp.Mails, proto.Clone(ms[i]).(*gamev1.Mail))
		}
		return proto.Marshal(resp)
	case bots.RouteMailClaim, bots.RouteMailRead:
		var req gamev1.ClaimMailRequest // same shape as ReadMailRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			return nil, gamemesh.Errorf(gamemesh.CodeBadRequest, "bad body")
		}
		i := slices.IndexFunc(g.mails[p], func(m *gamev1.Mail) bool { return m.GetId() == req.GetMailId() })
		if i < 0 {
			return nil, gamemesh.Errorf(gamemesh.CodeNotFound, "no such mail")
		}
		m := g.mails[p][i]
		if route == bots.RouteMailRead {
			m.Read = true
			return proto.Marshal(&gamev1.ReadMailResponse{Mail: m})
		}
		if m.Claimed || g.alwaysClaimed {
			return nil, gamemesh.Errorf(gamemesh.CodeAlreadyDone, "already claimed")
		}
		m.Claimed = true
		if g.inventory[p] == nil {
			g.inventory[p] = make(map[string]int64)
		}
		for _, it := range m.Attachments {
			g.inventory[p][it.GetId()] += it.GetCount()
		}
		return proto.Marshal(&gamev1.ClaimMailResponse{Items: m.Attachments, GrantId: m.Id})
	case bots.RouteGuildCreate, bots.RouteGuildApply, bots.RouteGuildInfo, bots.RouteGuildMembers, bots.RouteGuildLeave:
		return g.guildRoute(p, route, body)
	case bots.RouteAchievementList:
		return proto.Marshal(&gamev1.ListAchievementsResponse{})
	case bots.RoutePlayerGet:
		// Like the real player app: a new player's first get mails it a welcome gift.
		if g.welcomed[p] == 0 {
			g.welcomed[p]++
			g.mails[p] = append(g.mails[p], &gamev1.Mail{Id: gamemesh.NewID(), From: "system", Subject: "Welcome",
				Attachments: []*gamev1.Item{{Id: "gold", Count: 100}}})
		}
		return proto.Marshal(&gamev1.GetPlayerResponse{Player: &gamev1.PlayerRecord{PlayerId: string(p), Inventory: g.inventory[p]}})
	}
	return nil, gamemesh.Errorf(gamemesh.CodeUnknownRoute, "unknown route %s", route)
}

// claimAll claims every unclaimed attachment of p's box (none with alwaysClaimed).
func (g *fakeGame) claimAll(p gamemesh.PlayerID) ([]byte, error) {
	out := &gamev1.ClaimAllMailResponse{}
	for _, m := range g.mails[p] {
		if m.Claimed || len(m.Attachments) == 0 || g.alwaysClaimed {
			continue
		}
		m.Claimed, m.Read = true, true
		if g.inventory[p] == nil {
			g.inventory[p] = make(map[string]int64)
		}
		for _, it := range m.Attachments {
			g.inventory[p][it.GetId()] += it.GetCount()
		}
		out.MailIds = append(out.MailIds, m.Id)
		out.Items = append(out.Items, m.Attachments...)
	}
	return proto.Marshal(out)
}

func runBots(t *testing.T, g *fakeGame, cfg bots.Config) bots.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if cfg.HTTP == "" {
		cfg.HTTP = g.srv.HTTPBase()
	}
	rep, err := bots.Run(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Run: %v (report %s)", err, rep.JSON())
	}
	var shape map[string]any
	if err := json.Unmarshal(rep.JSON(), &shape); err != nil {
		t.Fatalf("report JSON: %v", err)
	}
	return rep
}

func TestRunPlaysTheMailGame(t *testing.T) {
	t.Parallel()
	for _, transport := range []string{"tcp", "ws"} {
		t.Run(transport, func(t *testing.T) {
			t.Parallel()
			g := startGame(t, &fakeGame{})
			addr := g.srv.TCPAddr()
			if transport == "ws" {
				addr = g.srv.WSAddr()
			}
			rep := runBots(t, g, bots.Config{Players: 4, Duration: 1200 * time.Millisecond, Addr: addr,
				MailEvery: 100 * time.Millisecond, Seed: 7})
			if rep.Players != 4 || rep.LoginsOK != 4 || rep.Errors != 0 {
				t.Fatalf("report %s: want 4 logins and no error", rep.JSON())
			}
			for _, route := range []string{bots.RouteMailSend, bots.RouteMailList, bots.RouteMailClaim, bots.RoutePlayerGet, bots.RouteGuildCreate, bots.RouteGuildApply, bots.RouteGuildInfo} {
				if s := rep.Calls[route]; s.OK == 0 || s.P99Ms < s.P50Ms {
					t.Fatalf("%s: %+v in %s", route, s, rep.JSON())
				}
			}
			if rep.Pushes == 0 {
				t.Fatalf("no mail.new push counted: %s", rep.JSON())
			}
			g.mu.Lock()
			cross := g.crossSent
			g.mu.Unlock()
			if cross == 0 {
				t.Fatal("no bot mailed another bot")
			}
			// The bots logged out: the gate sees every session end.
			deadline := time.Now().Add(10 * time.Second)
			for g.srv.Online() != 0 {
				if time.Now().After(deadline) {
					t.Fatalf("%d sessions still open after Run", g.srv.Online())
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
}

// Bots claim with mail.claimAll (odd bots) and mail.claim (even ones), and
// read the server-wide mail they find.
func TestRunClaimsAllAndReadsServerMail(t *testing.T) {
	t.Parallel()
	g := startGame(t, &fakeGame{serverMail: true})
	rep := runBots(t, g, bots.Config{Players: 4, Duration: 1200 * time.Millisecond, Addr: g.srv.TCPAddr(),
		MailEvery: 100 * time.Millisecond, Seed: 3})
	if rep.Errors != 0 {
		t.Fatalf("report %s: want no error", rep.JSON())
	}
	for _, route := range []string{bots.RouteMailClaimAll, bots.RouteMailClaim, bots.RouteMailRead} {
		if rep.Calls[route].OK == 0 {
			t.Fatalf("%s never called: %s", route, rep.JSON())
		}
	}
	if rep.ServerMailRead < 4 {
		t.Fatalf("%d server mails read by 4 bots: %s", rep.ServerMailRead, rep.JSON())
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for p, ms := range g.mails {
		for _, m := range ms {
			if m.BroadcastId != "" && !m.Read {
				t.Fatalf("bot %s left its server mail unread", p)
			}
		}
	}
}

// ALREADY_DONE on a claim of a mail listed unclaimed is a backend bug: counted.
func TestRunCountsAlreadyDoneClaims(t *testing.T) {
	t.Parallel()
	g := startGame(t, &fakeGame{alwaysClaimed: true})
	rep := runBots(t, g, bots.Config{Players: 2, Duration: 800 * time.Millisecond, Addr: g.srv.TCPAddr(),
		MailEvery: 100 * time.Millisecond})
	claim := rep.Calls[bots.RouteMailClaim]
	if claim.Err == 0 || claim.OK != 0 || rep.Errors < claim.Err || rep.ErrorCodes["ALREADY_DONE"] != claim.Err {
		t.Fatalf("report %s: want every claim counted as an ALREADY_DONE error", rep.JSON())
	}
}

// A banned bot's failed logins count; a kicked bot logs in again.
func TestRunLoginFailureAndReconnect(t *testing.T) {
	t.Parallel()
	g := startGame(t, &fakeGame{})
	g.srv.Ban("kb-1")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // kick bot 0 once it is online
		defer wg.Done()
		for ctx.Err() == nil {
			if g.srv.Online() > 0 {
				g.mu.Lock()
				var victim gamemesh.PlayerID
				for p := range g.mails {
					victim = p
				}
				g.mu.Unlock()
				if victim != "" && g.srv.Kick(victim, gamemesh.CodeKicked, "operator") {
					return
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	rep := runBots(t, g, bots.Config{Players: 3, Duration: 1500 * time.Millisecond, Addr: g.srv.TCPAddr(),
		Prefix: "kb", MailEvery: 50 * time.Millisecond})
	cancel()
	wg.Wait()
	if rep.LoginsOK != 2 || rep.Login.Err == 0 || rep.ErrorCodes["BANNED"] != rep.Login.Err {
		t.Fatalf("report %s: want 2 bots in and BANNED login errors", rep.JSON())
	}
	if rep.SessionsLost != 1 || rep.Reconnects != 1 || rep.ErrorCodes["KICKED"] < 1 {
		t.Fatalf("report %s: want one lost session and one reconnect", rep.JSON())
	}
	if rep.Errors < rep.Login.Err+1 {
		t.Fatalf("report %s: errors must include login failures and the lost session", rep.JSON())
	}
}

func TestRunNobodyLogsIn(t *testing.T) {
	t.Parallel()
	g := startGame(t, &fakeGame{})
	g.srv.Ban("nb-0")
	rep, err := bots.Run(context.Background(), bots.Config{Players: 1, Duration: 300 * time.Millisecond,
		Addr: g.srv.TCPAddr(), HTTP: g.srv.HTTPBase(), Prefix: "nb"}, nil)
	if gamemesh.CodeOf(err) != gamemesh.CodeUnavailable || rep.LoginsOK != 0 || rep.Errors == 0 {
		t.Fatalf("err %v, report %s", err, rep.JSON())
	}
	_, err = bots.Run(context.Background(), bots.Config{Players: 1}, nil)
	if gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
		t.Fatalf("bad config: %v", err)
	}
}

// guildRoute is a minimal guild app: open guilds, one guild per player.
func (g *fakeGame) guildRoute(p gamemesh.PlayerID, route string, body []byte) ([]byte, error) {
	if g.guildOps == nil {
		g.guildOps = map[string]int{}
	}
	var req gamev1.GuildRequest
	switch route {
	case bots.RouteGuildCreate:
		var c gamev1.CreateGuildRequest
		if err := proto.Unmarshal(body, &c); err != nil || len(c.GetName()) < 2 || len(c.GetName()) > 16 {
			return nil, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "bad guild name")
		}
		if g.guildOf[p] != "" {
			return nil, gamemesh.Errorf(gamemesh.CodeConflict, "already in a guild")
		}
		id := "g" + gamemesh.NewID()
		g.guildOf[p], g.guildSize[id] = id, 1
		g.guildOps[route]++
		return proto.Marshal(&gamev1.GuildResponse{Guild: &gamev1.Guild{Id: id, Name: c.GetName(), LeaderId: string(p), Open: true}, Joined: true})
	case bots.RouteGuildMembers:
		var m gamev1.ListGuildMembersRequest
		if err := proto.Unmarshal(body, &m); err != nil || g.guildOf[p] != m.GetGuildId() {
			return nil, gamemesh.Errorf(gamemesh.CodePermissionDenied, "not a member")
		}
		g.guildOps[route]++
		return proto.Marshal(&gamev1.ListGuildMembersResponse{Total: int32(g.guildSize[m.GetGuildId()])})
	}
	if err := proto.Unmarshal(body, &req); err != nil {
		return nil, gamemesh.Errorf(gamemesh.CodeBadRequest, "bad body")
	}
	id := req.GetGuildId()
	switch route {
	case bots.RouteGuildApply:
		if g.guildOf[p] != "" {
			return nil, gamemesh.Errorf(gamemesh.CodeConflict, "already in a guild")
		}
		if g.guildSize[id] == 0 {
			return nil, gamemesh.Errorf(gamemesh.CodeNotFound, "no such guild")
		}
		g.guildOf[p] = id
		g.guildSize[id]++
	case bots.RouteGuildInfo:
		if id == "" {
			id = g.guildOf[p]
		}
		if id == "" || g.guildSize[id] == 0 {
			return nil, gamemesh.Errorf(gamemesh.CodeNotFound, "no guild")
		}
	case bots.RouteGuildLeave:
		if g.guildOf[p] != id || id == "" {
			return nil, gamemesh.Errorf(gamemesh.CodePermissionDenied, "not a member")
		}
		delete(g.guildOf, p)
		g.guildSize[id]--
	}
	g.guildOps[route]++
	return proto.Marshal(&gamev1.GuildResponse{Guild: &gamev1.Guild{Id: id, MemberCount: int32(g.guildSize[id])}, Joined: route == bots.RouteGuildApply})
}
