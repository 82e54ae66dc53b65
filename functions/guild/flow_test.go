package guild_test

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	"github.com/gamemesh/gamemesh/functions/guild"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The gate-side directory.Pusher is what internal/system passes as Deps.Pusher.
var _ guild.Pusher = directory.Pusher{}

func TestCreateAndInfo(t *testing.T) {
	e := newEnv(t, guild.Config{})
	ctx := functionstest.Context(t)
	lead, other := e.newPlayer(), e.newPlayer()
	out, err := e.do(ctx, lead, "create", &gamev1.CreateGuildRequest{Name: "Dragons", Notice: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	g := out.Guild
	if g.Name != "Dragons" || g.LeaderId != string(lead) || g.MemberCount != 1 || g.MemberCap != guild.DefaultMemberCap ||
		g.Notice != "hi" || g.Open || g.MyRole != gamev1.GuildRole_GUILD_ROLE_LEADER || g.CreatedAtMs == 0 {
		t.Fatalf("created %v", g)
	}
	mine, err := e.do(ctx, lead, "info", &gamev1.GuildRequest{})
	if err != nil || mine.Guild.Id != g.Id {
		t.Fatalf("own info = %v, %v", mine, err)
	}
	theirs, err := e.do(ctx, other, "info", &gamev1.GuildRequest{GuildId: g.Id})
	if err != nil || theirs.Guild.Name != "Dragons" || theirs.Guild.MyRole != gamev1.GuildRole_GUILD_ROLE_UNSPECIFIED {
		t.Fatalf("outsider's info = %v, %v", theirs, err)
	}
	_, err = e.do(ctx, other, "info", &gamev1.GuildRequest{})
	wantErr(t, err, gamemesh.CodeNotFound, "not in a guild")
	// Already in a guild: no second one.
	_, err = e.do(ctx, lead, "create", &gamev1.CreateGuildRequest{Name: "Second"})
	wantErr(t, err, gamemesh.CodeConflict, "player is already in a guild")
	e.checkInvariants(t, []string{g.Id}, []gamemesh.PlayerID{lead, other})
}

func TestCreateRetryAnswersTheSameGuild(t *testing.T) {
	e := newEnv(t, guild.Config{})
	ctx := functionstest.Context(t)
	lead := e.newPlayer()
	var first, again gamev1.GuildResponse
	e.must(t, e.call(ctx, lead, "create-req-1", "create", &gamev1.CreateGuildRequest{Name: "Owls"}, &first))
	e.must(t, e.call(ctx, lead, "create-req-1", "create", &gamev1.CreateGuildRequest{Name: "Owls"}, &again))
	if first.Guild.Id != again.Guild.Id || again.Guild.MemberCount != 1 {
		t.Fatalf("retry answered %v, first %v", again.Guild, first.Guild)
	}
}

func TestApplyApproveReject(t *testing.T) {
	e := newEnv(t, guild.Config{})
	ctx := functionstest.Context(t)
	lead, a, b := e.newPlayer(), e.newPlayer(), e.newPlayer()
	id := e.create(t, lead, "Wolves", false)
	e.must(t, e.onGuild(ctx, a, "apply", id))
	e.must(t, e.onGuild(ctx, a, "apply", id)) // again: no change
	e.must(t, e.onGuild(ctx, b, "apply", id))
	apps := new(gamev1.GuildApplicationsResponse)
	e.must(t, e.call(ctx, lead, "", "applications", &gamev1.GuildRequest{GuildId: id}, apps))
	if len(apps.Applications) != 2 {
		t.Fatalf("applications = %v", apps.Applications)
	}
	e.must(t, e.target(ctx, lead, "approve", id, a))
	e.must(t, e.target(ctx, lead, "approve", id, a)) // retry: still a member, success
	e.must(t, e.target(ctx, lead, "reject", id, b))
	e.must(t, e.target(ctx, lead, "reject", id, b)) // no application left: success
	err := e.target(ctx, lead, "approve", id, b)
	wantErr(t, err, gamemesh.CodeNotFound, "no application from that player")

	mine, err := e.do(ctx, a, "info", &gamev1.GuildRequest{})
	if err != nil || mine.Guild.Id != id || mine.Guild.MyRole != gamev1.GuildRole_GUILD_ROLE_MEMBER || mine.Guild.MemberCount != 2 {
		t.Fatalf("a's info = %v, %v", mine, err)
	}
	e.must(t, e.call(ctx, lead, "", "applications", &gamev1.GuildRequest{GuildId: id}, apps))
	if len(apps.Applications) != 0 {
		t.Fatalf("applications left: %v", apps.Applications)
	}
	if got := e.pushes.take(); len(got) != 1 || got[0].player != a || got[0].route != guild.PushRoute ||
		got[0].msg.Kind != gamev1.GuildEventKind_GUILD_EVENT_KIND_JOINED || got[0].msg.By != string(lead) {
		t.Fatalf("pushes = %+v", got)
	}
	e.checkInvariants(t, []string{id}, []gamemesh.PlayerID{lead, a, b})
}

func TestInviteAccept(t *testing.T) {
	e := newEnv(t, guild.Config{})
	ctx := functionstest.Context(t)
	lead, a, stranger := e.newPlayer(), e.newPlayer(), e.newPlayer()
	id := e.create(t, lead, "Foxes", false)
	err := e.onGuild(ctx, a, "accept", id)
	wantErr(t, err, gamemesh.CodeNotFound, "no invitation to this guild")
	e.must(t, e.target(ctx, lead, "invite", id, a))
	e.must(t, e.target(ctx, lead, "invite", id, a)) // again: no second push
	if got := e.pushes.take(); len(got) != 1 || got[0].msg.Kind != gamev1.GuildEventKind_GUILD_EVENT_KIND_INVITED || got[0].msg.GuildId != id {
		t.Fatalf("pushes = %+v", got)
	}
	out, err := e.do(ctx, a, "accept", &gamev1.GuildRequest{GuildId: id})
	if err != nil || !out.Joined || out.Guild.MemberCount != 2 {
		t.Fatalf("accept = %v, %v", out, err)
	}
	e.must(t, e.onGuild(ctx, a, "accept", id)) // retry: success
	err = e.target(ctx, lead, "invite", id, "pnosuchplayer")
	wantErr(t, err, gamemesh.CodeNotFound, "no such player")
	err = e.target(ctx, lead, "invite", id, lead)
	functionstest.WantCode(t, err, gamemesh.CodeInvalidArgument)
	// A player in another guild cannot be invited.
	other := e.create(t, stranger, "Bears", false)
	err = e.target(ctx, lead, "invite", id, stranger)
	wantErr(t, err, gamemesh.CodeConflict, "player is already in a guild")
	e.checkInvariants(t, []string{id, other}, nil)
}

func TestOpenGuildJoinsOnApply(t *testing.T) {
	e := newEnv(t, guild.Config{})
	ctx := functionstest.Context(t)
	lead, a := e.newPlayer(), e.newPlayer()
	id := e.create(t, lead, "Open Door", true)
	out, err := e.do(ctx, a, "apply", &gamev1.GuildRequest{GuildId: id})
	if err != nil || !out.Joined || out.Guild.MemberCount != 2 {
		t.Fatalf("apply to open guild = %v, %v", out, err)
	}
	e.must(t, e.onGuild(ctx, a, "apply", id))
	e.must(t, e.target(ctx, lead, "kick", id, a))
	// Closed again: apply only applies.
	_, err = e.do(ctx, lead, "setOpen", &gamev1.GuildOpenRequest{GuildId: id, Open: false})
	e.must(t, err)
	out, err = e.do(ctx, a, "apply", &gamev1.GuildRequest{GuildId: id})
	if err != nil || out.Joined || out.Guild.MemberCount != 1 {
		t.Fatalf("apply to closed guild = %v, %v", out, err)
	}
}

func TestRolesAndTransfer(t *testing.T) {
	e := newEnv(t, guild.Config{})
	ctx := functionstest.Context(t)
	lead, a, b := e.newPlayer(), e.newPlayer(), e.newPlayer()
	id := e.create(t, lead, "Ravens", false)
	e.join(t, id, lead, a)
	e.join(t, id, lead, b)
	e.must(t, e.target(ctx, lead, "promote", id, a))
	e.must(t, e.target(ctx, lead, "promote", id, a)) // already officer
	// The officer approves and kicks members.
	c := e.newPlayer()
	e.pushes.take()
	e.must(t, e.onGuild(ctx, c, "apply", id))
	e.must(t, e.target(ctx, a, "approve", id, c))
	e.must(t, e.target(ctx, a, "kick", id, c))
	if got := e.pushes.take(); len(got) != 2 || got[1].player != c || got[1].msg.Kind != gamev1.GuildEventKind_GUILD_EVENT_KIND_KICKED {
		t.Fatalf("pushes = %+v", got)
	}
	// Transfer: b leads, the old leader is an officer.
	e.must(t, e.target(ctx, lead, "transfer", id, b))
	info, err := e.do(ctx, lead, "info", &gamev1.GuildRequest{GuildId: id})
	if err != nil || info.Guild.LeaderId != string(b) || info.Guild.MyRole != gamev1.GuildRole_GUILD_ROLE_OFFICER {
		t.Fatalf("after transfer: %v, %v", info, err)
	}
	err = e.target(ctx, lead, "promote", id, a)
	wantErr(t, err, gamemesh.CodePermissionDenied, "only the leader may promote members")
	e.must(t, e.target(ctx, b, "demote", id, lead))
	e.must(t, e.target(ctx, b, "demote", id, lead)) // already a member
	err = e.target(ctx, b, "demote", id, b)
	functionstest.WantCode(t, err, gamemesh.CodeInvalidArgument)
	e.must(t, e.onGuild(ctx, lead, "leave", id))
	e.checkInvariants(t, []string{id}, nil)
	if e.claimOf(t, lead) != nil || e.claimOf(t, c) != nil {
		t.Fatal("a claim survived leave or kick")
	}
}

func TestNoticeAndMembersPaging(t *testing.T) {
	e := newEnv(t, guild.Config{})
	ctx := functionstest.Context(t)
	lead := e.newPlayer()
	id := e.create(t, lead, "Pages", true)
	want := map[string]bool{string(lead): true}
	for _, p := range e.newPlayers(44) {
		e.must(t, e.onGuild(ctx, p, "apply", id))
		want[string(p)] = true
	}
	var got []string
	token := ""
	for pages := 0; ; pages++ {
		out := new(gamev1.ListGuildMembersResponse)
		e.must(t, e.call(ctx, lead, "", "members", &gamev1.ListGuildMembersRequest{GuildId: id, PageToken: token, PageSize: 20}, out))
		if out.Total != 45 || len(out.Members) > 20 || pages > 3 {
			t.Fatalf("page %d: total %d, %d members", pages, out.Total, len(out.Members))
		}
		for _, m := range out.Members {
			got = append(got, m.PlayerId)
		}
		if token = out.NextPageToken; token == "" {
			break
		}
	}
	if len(got) != 45 {
		t.Fatalf("paged %d members, want 45", len(got))
	}
	for i, p := range got {
		if !want[p] || i > 0 && got[i-1] >= p {
			t.Fatalf("member list out of order or unknown at %d: %v", i, got)
		}
	}
	out := new(gamev1.ListGuildMembersResponse)
	functionstest.WantCode(t, e.call(ctx, lead, "", "members", &gamev1.ListGuildMembersRequest{PageToken: "Not A Token"}, out), gamemesh.CodeBadRequest)
	functionstest.WantCode(t, e.call(ctx, lead, "", "members", &gamev1.ListGuildMembersRequest{PageSize: guild.MaxPageSize + 1}, out), gamemesh.CodeInvalidArgument)
	e.must(t, e.call(ctx, lead, "", "members", &gamev1.ListGuildMembersRequest{}, out)) // own guild, default size
	if len(out.Members) != guild.DefaultPageSize {
		t.Fatalf("default page holds %d", len(out.Members))
	}

	res, err := e.do(ctx, lead, "notice", &gamev1.GuildNoticeRequest{GuildId: id, Notice: "raid at 9\nbring potions"})
	if err != nil || res.Guild.Notice != "raid at 9\nbring potions" {
		t.Fatalf("notice = %v, %v", res, err)
	}
}

func TestDisband(t *testing.T) {
	e := newEnv(t, guild.Config{})
	ctx := functionstest.Context(t)
	lead, a, b := e.newPlayer(), e.newPlayer(), e.newPlayer()
	id := e.create(t, lead, "Short Lived", false)
	e.join(t, id, lead, a)
	e.must(t, e.onGuild(ctx, b, "apply", id))
	e.pushes.take()
	var out gamev1.GuildResponse
	e.must(t, e.call(ctx, lead, "disband-1", "disband", &gamev1.GuildRequest{GuildId: id}, &out))
	e.must(t, e.call(ctx, lead, "disband-1", "disband", &gamev1.GuildRequest{GuildId: id}, &out)) // retry
	if got := e.pushes.take(); len(got) != 1 || got[0].player != a || got[0].msg.Kind != gamev1.GuildEventKind_GUILD_EVENT_KIND_DISBANDED {
		t.Fatalf("pushes = %+v", got)
	}
	for _, p := range []gamemesh.PlayerID{lead, a} {
		if c := e.claimOf(t, p); c != nil {
			t.Fatalf("claim of %s survived disband: %+v", p, c)
		}
	}
	// A disbanded guild accepts nothing.
	wantErr(t, e.onGuild(ctx, lead, "disband", id), gamemesh.CodeNotFound, "guild has been disbanded")
	wantErr(t, e.onGuild(ctx, b, "apply", id), gamemesh.CodeNotFound, "guild has been disbanded")
	wantErr(t, e.target(ctx, lead, "approve", id, b), gamemesh.CodeNotFound, "guild has been disbanded")
	wantErr(t, e.target(ctx, lead, "invite", id, b), gamemesh.CodeNotFound, "guild has been disbanded")
	wantErr(t, e.onGuild(ctx, a, "info", id), gamemesh.CodeNotFound, "guild has been disbanded")
	_, err := e.do(ctx, lead, "notice", &gamev1.GuildNoticeRequest{GuildId: id, Notice: "x"})
	wantErr(t, err, gamemesh.CodeNotFound, "guild has been disbanded")
	// The name is free again, and the former members may join elsewhere.
	again := e.create(t, a, "SHORT LIVED", false)
	e.join(t, again, a, lead)
	e.checkInvariants(t, []string{id, again}, nil)
}

func TestRetriesOfLeaveKickTransfer(t *testing.T) {
	e := newEnv(t, guild.Config{})
	ctx := functionstest.Context(t)
	lead, a, b, c := e.newPlayer(), e.newPlayer(), e.newPlayer(), e.newPlayer()
	id := e.create(t, lead, "Retries", true)
	for _, p := range []gamemesh.PlayerID{a, b, c} {
		e.must(t, e.onGuild(ctx, p, "apply", id))
	}
	var out gamev1.GuildResponse
	leave := &gamev1.GuildRequest{GuildId: id}
	e.must(t, e.call(ctx, a, "leave-1", "leave", leave, &out))
	e.must(t, e.call(ctx, a, "leave-1", "leave", leave, &out))
	wantErr(t, e.call(ctx, a, "leave-2", "leave", leave, &out), gamemesh.CodePermissionDenied, "not a member of this guild")

	kick := &gamev1.GuildTargetRequest{GuildId: id, PlayerId: string(b)}
	e.must(t, e.call(ctx, lead, "kick-1", "kick", kick, &out))
	e.must(t, e.call(ctx, lead, "kick-1", "kick", kick, &out))
	wantErr(t, e.call(ctx, lead, "kick-2", "kick", kick, &out), gamemesh.CodeNotFound, "that player is not a member of this guild")

	tr := &gamev1.GuildTargetRequest{GuildId: id, PlayerId: string(c)}
	e.must(t, e.call(ctx, lead, "transfer-1", "transfer", tr, &out))
	e.must(t, e.call(ctx, lead, "transfer-1", "transfer", tr, &out))
	functionstest.WantCode(t, e.call(ctx, lead, "transfer-2", "transfer", tr, &out), gamemesh.CodePermissionDenied)
	e.checkInvariants(t, []string{id}, nil)
}

func TestApplicationsAndInvitationsExpire(t *testing.T) {
	e := newEnv(t, guild.Config{ApplicationTTL: time.Hour})
	ctx := functionstest.Context(t)
	lead, a, b := e.newPlayer(), e.newPlayer(), e.newPlayer()
	id := e.create(t, lead, "Patience", false)
	e.must(t, e.onGuild(ctx, a, "apply", id))
	e.must(t, e.target(ctx, lead, "invite", id, b))
	e.clk.Advance(time.Hour)
	wantErr(t, e.target(ctx, lead, "approve", id, a), gamemesh.CodeNotFound, "no application from that player")
	wantErr(t, e.onGuild(ctx, b, "accept", id), gamemesh.CodeNotFound, "no invitation to this guild")
	apps := new(gamev1.GuildApplicationsResponse)
	e.must(t, e.call(ctx, lead, "", "applications", &gamev1.GuildRequest{GuildId: id}, apps))
	if len(apps.Applications) != 0 {
		t.Fatalf("expired applications listed: %v", apps.Applications)
	}
}
