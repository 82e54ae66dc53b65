package guild_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	"github.com/gamemesh/gamemesh/functions/guild"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

func TestNameRules(t *testing.T) {
	e := newEnv(t, guild.Config{})
	ctx := functionstest.Context(t)
	p := e.newPlayer()
	bad := []struct{ name, in string }{
		{"empty", ""},
		{"one character", "x"},
		{"too long", strings.Repeat("n", guild.MaxNameLen+1)},
		{"too long multibyte", strings.Repeat("龍", guild.MaxNameLen+1)},
		{"nul", "ab\x00cd"},
		{"newline", "ab\ncd"},
		{"tab", "ab\tcd"},
		{"escape", "ab\x1b[31m"},
		{"delete", "ab\x7fcd"},
		{"C1 control", "ab\u0085cd"},
		{"bidi override", "ab\u202ecd"},
		{"zero width space", "ab\u200bcd"},
		{"line separator", "ab\u2028cd"},
		{"private use", "ab\ue000cd"},
		{"leading space", " abcd"},
		{"trailing space", "abcd "},
		{"leading ideographic space", "\u3000abcd"},
		{"only spaces", "    "},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			before := e.mem.Snapshot()
			_, err := e.do(ctx, p, "create", &gamev1.CreateGuildRequest{Name: c.in})
			functionstest.WantCode(t, err, gamemesh.CodeInvalidArgument)
			functionstest.WantSame(t, before, e.mem.Snapshot())
		})
	}
	// Invalid UTF-8 cannot even be decoded: BAD_REQUEST.
	body := protowire.AppendTag(nil, 1, protowire.BytesType)
	body = protowire.AppendString(body, "ab\xffcd")
	before := e.mem.Snapshot()
	_, err := e.reg.Call(ctx, gamemesh.Request{App: guild.AppName, Method: "create", Player: p, ID: "x1", Body: body})
	functionstest.WantCode(t, err, gamemesh.CodeBadRequest)
	// Notices are capped and checked too.
	_, err = e.do(ctx, p, "create", &gamev1.CreateGuildRequest{Name: "Fine", Notice: strings.Repeat("n", guild.MaxNoticeLen+1)})
	functionstest.WantCode(t, err, gamemesh.CodeInvalidArgument)
	_, err = e.do(ctx, p, "create", &gamev1.CreateGuildRequest{Name: "Fine", Notice: "a\x00b"})
	functionstest.WantCode(t, err, gamemesh.CodeInvalidArgument)
	functionstest.WantSame(t, before, e.mem.Snapshot())

	// The limits themselves are accepted.
	for _, name := range []string{strings.Repeat("n", guild.MaxNameLen), "龍虎", "ＡＢ", "a b", "Ünïcödé"} {
		if _, err := e.do(ctx, e.newPlayer(), "create", &gamev1.CreateGuildRequest{Name: name}); err != nil {
			t.Errorf("name %q refused: %v", name, err)
		}
	}
}

func TestNamesAreUniqueIgnoringCaseAndWidth(t *testing.T) {
	e := newEnv(t, guild.Config{})
	ctx := functionstest.Context(t)
	e.create(t, e.newPlayer(), "Dragons", false)
	for _, name := range []string{"Dragons", "DRAGONS", "dragons", "ＤＲＡＧＯＮＳ", "ｄｒａｇｏｎｓ"} {
		p := e.newPlayer()
		before := e.mem.Snapshot()
		_, err := e.do(ctx, p, "create", &gamev1.CreateGuildRequest{Name: name})
		wantErr(t, err, gamemesh.CodeConflict, "guild name is taken")
		functionstest.WantSame(t, before, e.mem.Snapshot()) // the loser's claim was released
	}
	e.create(t, e.newPlayer(), "Dragon", false) // a different name
}

// TestPermissions: every action by someone without the right is refused
// with PERMISSION_DENIED and changes nothing.
func TestPermissions(t *testing.T) {
	e := newEnv(t, guild.Config{})
	ctx := functionstest.Context(t)
	lead, off1, off2, mem1, mem2, applicant := e.newPlayer(), e.newPlayer(), e.newPlayer(), e.newPlayer(), e.newPlayer(), e.newPlayer()
	id := e.create(t, lead, "Ranks", false)
	for _, p := range []gamemesh.PlayerID{off1, off2, mem1, mem2} {
		e.join(t, id, lead, p)
	}
	e.must(t, e.target(ctx, lead, "promote", id, off1))
	e.must(t, e.target(ctx, lead, "promote", id, off2))
	e.must(t, e.onGuild(ctx, applicant, "apply", id))
	outsider := e.newPlayer()

	type call struct {
		name   string
		actor  gamemesh.PlayerID
		method string
		target gamemesh.PlayerID // "" for GuildRequest methods
		msg    string
	}
	notMember := "not a member of this guild"
	cases := []call{
		{"member approves", mem1, "approve", applicant, "only the leader or officers may approve applications"},
		{"member rejects", mem1, "reject", applicant, "only the leader or officers may reject applications"},
		{"member invites", mem1, "invite", outsider, "only the leader or officers may invite"},
		{"member kicks", mem1, "kick", mem2, "only the leader or officers may kick"},
		{"member promotes", mem1, "promote", mem2, "only the leader may promote members"},
		{"member demotes", mem1, "demote", off1, "only the leader may demote officers"},
		{"member transfers", mem1, "transfer", mem2, "only the leader may transfer leadership"},
		{"member disbands", mem1, "disband", "", "only the leader may disband the guild"},
		{"member lists applications", mem1, "applications", "", "only the leader or officers may see applications"},
		{"officer kicks officer", off1, "kick", off2, "only the leader may kick officers"},
		{"officer kicks leader", off1, "kick", lead, "the leader cannot be kicked"},
		{"officer promotes", off1, "promote", mem1, "only the leader may promote members"},
		{"officer demotes", off1, "demote", off2, "only the leader may demote officers"},
		{"officer transfers", off1, "transfer", off1, "only the leader may transfer leadership"},
		{"officer disbands", off1, "disband", "", "only the leader may disband the guild"},
		{"leader leaves", lead, "leave", "", "the leader must transfer leadership or disband the guild"},
		// A player not in the guild calling member-only methods.
		{"outsider leaves", outsider, "leave", "", notMember},
		{"outsider disbands", outsider, "disband", "", notMember},
		{"outsider lists applications", outsider, "applications", "", notMember},
		{"outsider approves", outsider, "approve", applicant, notMember},
		{"outsider rejects", outsider, "reject", applicant, notMember},
		{"outsider invites", outsider, "invite", applicant, notMember},
		{"outsider kicks", outsider, "kick", mem1, notMember},
		{"outsider promotes", outsider, "promote", mem1, notMember},
		{"outsider demotes", outsider, "demote", off1, notMember},
		{"outsider transfers", outsider, "transfer", mem1, notMember},
		{"applicant approves itself", applicant, "approve", applicant, notMember},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.mem.Snapshot()
			var err error
			if c.target == "" {
				err = e.onGuild(ctx, c.actor, c.method, id)
			} else {
				err = e.target(ctx, c.actor, c.method, id, c.target)
			}
			wantErr(t, err, gamemesh.CodePermissionDenied, c.msg)
			functionstest.WantSame(t, before, e.mem.Snapshot())
		})
	}
	for _, c := range []struct {
		name string
		in   *gamev1.GuildNoticeRequest
		p    gamemesh.PlayerID
	}{{"member sets notice", &gamev1.GuildNoticeRequest{GuildId: id, Notice: "x"}, mem1}, {"outsider sets notice", &gamev1.GuildNoticeRequest{GuildId: id, Notice: "x"}, outsider}} {
		before := e.mem.Snapshot()
		_, err := e.do(ctx, c.p, "notice", c.in)
		functionstest.WantCode(t, err, gamemesh.CodePermissionDenied)
		functionstest.WantSame(t, before, e.mem.Snapshot())
	}
	before := e.mem.Snapshot()
	_, err := e.do(ctx, off1, "setOpen", &gamev1.GuildOpenRequest{GuildId: id, Open: true})
	wantErr(t, err, gamemesh.CodePermissionDenied, "only the leader may open or close the guild")
	functionstest.WantSame(t, before, e.mem.Snapshot())
	e.checkInvariants(t, []string{id}, nil)
}

// TestBadRequests: malformed ids, missing fields, unknown guilds, services
// calling player methods, players calling service methods.
func TestBadRequests(t *testing.T) {
	e := newEnv(t, guild.Config{})
	ctx := functionstest.Context(t)
	lead, p := e.newPlayer(), e.newPlayer()
	id := e.create(t, lead, "Checks", false)
	before := e.mem.Snapshot()
	cases := []struct {
		name   string
		actor  gamemesh.PlayerID
		method string
		in     *gamev1.GuildTargetRequest
		code   gamemesh.Code
	}{
		{"no guild id", p, "apply", &gamev1.GuildTargetRequest{}, gamemesh.CodeInvalidArgument},
		{"malformed guild id", p, "apply", &gamev1.GuildTargetRequest{GuildId: "../../x"}, gamemesh.CodeNotFound},
		{"unknown guild", p, "apply", &gamev1.GuildTargetRequest{GuildId: "gnosuchguild"}, gamemesh.CodeNotFound},
		{"unknown guild accept", p, "accept", &gamev1.GuildTargetRequest{GuildId: "gnosuchguild"}, gamemesh.CodeNotFound},
		{"unknown guild leave", p, "leave", &gamev1.GuildTargetRequest{GuildId: "gnosuchguild"}, gamemesh.CodeNotFound},
		{"no target", lead, "kick", &gamev1.GuildTargetRequest{GuildId: id}, gamemesh.CodeInvalidArgument},
		{"malformed target", lead, "kick", &gamev1.GuildTargetRequest{GuildId: id, PlayerId: "Bad Id"}, gamemesh.CodeNotFound},
		{"kick a non-member", lead, "kick", &gamev1.GuildTargetRequest{GuildId: id, PlayerId: string(p)}, gamemesh.CodeNotFound},
		{"promote a non-member", lead, "promote", &gamev1.GuildTargetRequest{GuildId: id, PlayerId: string(p)}, gamemesh.CodeNotFound},
		{"transfer to a non-member", lead, "transfer", &gamev1.GuildTargetRequest{GuildId: id, PlayerId: string(p)}, gamemesh.CodeNotFound},
		{"transfer to self", lead, "transfer", &gamev1.GuildTargetRequest{GuildId: id, PlayerId: string(lead)}, gamemesh.CodeInvalidArgument},
		{"kick self", lead, "kick", &gamev1.GuildTargetRequest{GuildId: id, PlayerId: string(lead)}, gamemesh.CodeInvalidArgument},
		{"no player", "", "apply", &gamev1.GuildTargetRequest{GuildId: id}, gamemesh.CodeNotLoggedIn},
		{"no player approves", "", "approve", &gamev1.GuildTargetRequest{GuildId: id, PlayerId: string(p)}, gamemesh.CodeNotLoggedIn},
		{"player calls settle", p, "settle", &gamev1.GuildTargetRequest{}, gamemesh.CodeUnknownRoute},
		{"unknown method", p, "join", &gamev1.GuildTargetRequest{GuildId: id}, gamemesh.CodeUnknownRoute},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.do(ctx, c.actor, c.method, c.in)
			functionstest.WantCode(t, err, c.code)
			functionstest.WantSame(t, before, e.mem.Snapshot())
		})
	}
	_, err := e.do(ctx, p, "info", &gamev1.GuildRequest{GuildId: "gnosuchguild"})
	wantErr(t, err, gamemesh.CodeNotFound, "no such guild")
	out := new(gamev1.SettleGuildResponse)
	functionstest.WantCode(t, e.call(ctx, "", "", "settle", &gamev1.SettleGuildRequest{PlayerId: "Bad"}, out), gamemesh.CodeInvalidArgument)
	functionstest.WantSame(t, before, e.mem.Snapshot())
}

func TestStoreDownChangesNothing(t *testing.T) {
	e := newEnv(t, guild.Config{})
	ctx := functionstest.Context(t)
	lead, p := e.newPlayer(), e.newPlayer()
	id := e.create(t, lead, "Outage", false)
	e.must(t, e.onGuild(ctx, p, "apply", id))
	before := e.mem.Snapshot()
	e.faulty.SetDown(true)
	functionstest.WantCode(t, e.target(ctx, lead, "approve", id, p), gamemesh.CodeUnavailable)
	_, err := e.do(ctx, e.newPlayer(), "create", &gamev1.CreateGuildRequest{Name: "Later"})
	functionstest.WantCode(t, err, gamemesh.CodeUnavailable)
	functionstest.WantCode(t, e.onGuild(ctx, lead, "info", ""), gamemesh.CodeUnavailable)
	e.faulty.SetDown(false)
	functionstest.WantSame(t, before, e.mem.Snapshot())
	e.must(t, e.target(ctx, lead, "approve", id, p))
}

func TestLimits(t *testing.T) {
	e := newEnv(t, guild.Config{MemberCap: 3, MaxApplications: 2, MaxInvites: 1})
	ctx := functionstest.Context(t)
	lead := e.newPlayer()
	id := e.create(t, lead, "Tiny", false)
	ps := e.newPlayers(5)
	e.must(t, e.onGuild(ctx, ps[0], "apply", id))
	e.must(t, e.onGuild(ctx, ps[1], "apply", id))
	wantErr(t, e.onGuild(ctx, ps[2], "apply", id), gamemesh.CodeLimitReached, "too many pending applications to this guild")
	e.must(t, e.target(ctx, lead, "invite", id, ps[3]))
	wantErr(t, e.target(ctx, lead, "invite", id, ps[4]), gamemesh.CodeLimitReached, "too many pending invitations from this guild")
	e.must(t, e.target(ctx, lead, "approve", id, ps[0]))
	e.must(t, e.onGuild(ctx, ps[3], "accept", id))
	before := e.mem.Snapshot()
	wantErr(t, e.target(ctx, lead, "approve", id, ps[1]), gamemesh.CodeLimitReached, "guild is full")
	functionstest.WantSame(t, before, e.mem.Snapshot())
	wantErr(t, e.onGuild(ctx, ps[2], "apply", id), gamemesh.CodeLimitReached, "guild is full")
	e.checkInvariants(t, []string{id}, nil)
}
