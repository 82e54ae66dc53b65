package guild_test

// Crashes between two writes: the faulty store lets a write through and then
// fails every later write, as a process dying right after it would. After
// heal, the system must converge: the player is a consistent member, or is
// free to join another guild.

import (
	"testing"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	"github.com/gamemesh/gamemesh/functions/guild"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// Crash after the membership claim, before the guild record's commit: the
// next settle completes the join.
func TestCrashBetweenClaimAndCommitRollsForward(t *testing.T) {
	testCrashRollsForward(t, newEnv(t, guild.Config{}))
}

func testCrashRollsForward(t *testing.T, e *env) {
	ctx := functionstest.Context(t)
	lead, p := e.newPlayer(), e.newPlayer()
	id := e.create(t, lead, "Phoenix", false)
	other := e.create(t, e.newPlayer(), "Elsewhere", true)
	e.must(t, e.onGuild(ctx, p, "apply", id))

	e.faulty.CrashAfter("guild/member/", 1)
	functionstest.WantCode(t, e.target(ctx, lead, "approve", id, p), gamemesh.CodeUnavailable)
	if !e.faulty.Crashed() {
		t.Fatal("the crash plan never fired")
	}
	e.faulty.Heal()
	if c := e.claimOf(t, p); c == nil || c.Guild != id {
		t.Fatalf("claim after the crash = %+v", c)
	}
	if g := e.guildRec(t, id); g.Members[string(p)].Role != "" || g.Reserved[string(p)] == nil {
		t.Fatalf("record after the crash: member %v, reservation %s", g.Members[string(p)], g.Reserved[string(p)])
	}
	// The player tries to join elsewhere: the interrupted join is completed
	// first, so the player is a consistent member of the first guild.
	wantErr(t, e.onGuild(ctx, p, "apply", other), gamemesh.CodeConflict, "player is already in a guild")
	if in := e.checkInvariants(t, []string{id, other}, []gamemesh.PlayerID{p}); in[p] != id {
		t.Fatalf("player in %q, want %s", in[p], id)
	}
	e.must(t, e.target(ctx, lead, "approve", id, p)) // the retried approve is success
}

// Crash after the claim; the reservation goes stale and another join's
// write drops it: the claim is then stale and the player free.
func TestCrashBetweenClaimAndCommitReleasesAfterTTL(t *testing.T) {
	e := newEnv(t, guild.Config{ReserveTTL: guild.DefaultReserveTTL})
	ctx := functionstest.Context(t)
	lead, p, q := e.newPlayer(), e.newPlayer(), e.newPlayer()
	id := e.create(t, lead, "Phoenix", false)
	other := e.create(t, e.newPlayer(), "Elsewhere", true)
	e.must(t, e.onGuild(ctx, p, "apply", id))
	e.must(t, e.onGuild(ctx, q, "apply", id))
	e.faulty.CrashAfter("guild/member/", 1)
	functionstest.WantCode(t, e.target(ctx, lead, "approve", id, p), gamemesh.CodeUnavailable)
	e.faulty.Heal()

	e.clk.Advance(guild.DefaultReserveTTL)
	e.must(t, e.target(ctx, lead, "approve", id, q)) // this write drops p's stale reservation
	if g := e.guildRec(t, id); g.Reserved[string(p)] != nil {
		t.Fatal("stale reservation survived a write")
	}
	e.must(t, e.onGuild(ctx, p, "apply", other))
	in := e.checkInvariants(t, []string{id, other}, []gamemesh.PlayerID{p, q})
	if in[p] != other || in[q] != id {
		t.Fatalf("p in %q, q in %q", in[p], in[q])
	}
}

// Crash after the reservation, before the claim: no claim exists, the
// player is free at once, and the slot counts against the cap only until
// ReserveTTL.
func TestCrashBetweenReserveAndClaim(t *testing.T) {
	e := newEnv(t, guild.Config{MemberCap: 3})
	ctx := functionstest.Context(t)
	lead, a, p, q := e.newPlayer(), e.newPlayer(), e.newPlayer(), e.newPlayer()
	id := e.create(t, lead, "Narrow", false)
	other := e.create(t, e.newPlayer(), "Wide", true)
	e.join(t, id, lead, a)
	e.must(t, e.onGuild(ctx, p, "apply", id))
	e.must(t, e.onGuild(ctx, q, "apply", id))
	e.faulty.CrashAfter("guild/g/", 1)
	functionstest.WantCode(t, e.target(ctx, lead, "approve", id, p), gamemesh.CodeUnavailable)
	e.faulty.Heal()
	if e.claimOf(t, p) != nil {
		t.Fatal("a claim was written after the crash")
	}
	wantErr(t, e.target(ctx, lead, "approve", id, q), gamemesh.CodeLimitReached, "guild is full")
	e.clk.Advance(guild.DefaultReserveTTL)
	e.must(t, e.target(ctx, lead, "approve", id, q))
	e.must(t, e.onGuild(ctx, p, "apply", other))
	in := e.checkInvariants(t, []string{id, other}, []gamemesh.PlayerID{p, q})
	if in[p] != other || in[q] != id {
		t.Fatalf("p in %q, q in %q", in[p], in[q])
	}
}

// Crash after the creator's claim and name, before the guild record: within
// PendingGrace the creation counts as in progress; after it, the player is
// free (the creation is aborted by a tombstone) and the name can be taken.
func TestCrashInCreateThenOthersMoveOn(t *testing.T) {
	testCrashInCreate(t, newEnv(t, guild.Config{}))
}

func testCrashInCreate(t *testing.T, e *env) {
	ctx := functionstest.Context(t)
	p, rival := e.newPlayer(), e.newPlayer()
	other := e.create(t, e.newPlayer(), "Refuge", true)
	create := &gamev1.CreateGuildRequest{Name: "Half Made"}
	var out gamev1.GuildResponse
	e.faulty.CrashAfter("guild/name/", 1)
	functionstest.WantCode(t, e.call(ctx, p, "create-crash-1", "create", create, &out), gamemesh.CodeUnavailable)
	e.faulty.Heal()

	wantErr(t, e.onGuild(ctx, p, "apply", other), gamemesh.CodeConflict, "player is creating a guild, retry")
	_, err := e.do(ctx, rival, "create", &gamev1.CreateGuildRequest{Name: "HALF MADE"})
	wantErr(t, err, gamemesh.CodeConflict, "guild name is taken")

	e.clk.Advance(guild.DefaultPendingGrace)
	e.must(t, e.onGuild(ctx, p, "apply", other))
	res, err := e.do(ctx, rival, "create", &gamev1.CreateGuildRequest{Name: "HALF MADE"})
	if err != nil {
		t.Fatalf("the name of an interrupted creation stayed taken: %v", err)
	}
	// The interrupted request, retried, cannot resurrect its guild.
	wantErr(t, e.call(ctx, p, "create-crash-1", "create", create, &out), gamemesh.CodeConflict, "guild creation was interrupted, retry with a new request")
	in := e.checkInvariants(t, []string{other, res.Guild.Id}, []gamemesh.PlayerID{p, rival})
	if in[p] != other || in[rival] != res.Guild.Id {
		t.Fatalf("p in %q, rival in %q", in[p], in[rival])
	}
}

// Crash before the guild record; the creator's retry (same request id)
// completes the creation.
func TestCrashInCreateThenRetryCompletes(t *testing.T) {
	e := newEnv(t, guild.Config{})
	ctx := functionstest.Context(t)
	p := e.newPlayer()
	create := &gamev1.CreateGuildRequest{Name: "Second Try"}
	var out gamev1.GuildResponse
	e.faulty.CrashAfter("guild/member/", 1) // after the claim: the name write fails
	functionstest.WantCode(t, e.call(ctx, p, "create-retry-1", "create", create, &out), gamemesh.CodeUnavailable)
	e.faulty.Heal()
	e.clk.Advance(guild.DefaultPendingGrace / 2)
	e.must(t, e.call(ctx, p, "create-retry-1", "create", create, &out))
	if out.Guild.Name != "Second Try" || out.Guild.LeaderId != string(p) {
		t.Fatalf("retry made %v", out.Guild)
	}
	e.checkInvariants(t, []string{out.Guild.Id}, []gamemesh.PlayerID{p})
}

// Crash after a leave's guild write, before its claim is released: the
// stale claim does not keep the player from joining elsewhere.
func TestCrashAfterLeaveBeforeRelease(t *testing.T) {
	e := newEnv(t, guild.Config{})
	ctx := functionstest.Context(t)
	lead, p := e.newPlayer(), e.newPlayer()
	id := e.create(t, lead, "Exit", true)
	other := e.create(t, e.newPlayer(), "Entry", true)
	e.must(t, e.onGuild(ctx, p, "apply", id))
	e.faulty.CrashAfter("guild/g/", 1)
	e.must(t, e.onGuild(ctx, p, "leave", id)) // the release is best effort
	e.faulty.Heal()
	if c := e.claimOf(t, p); c == nil || c.Guild != id {
		t.Fatalf("claim = %+v, want the stale one", c)
	}
	e.must(t, e.onGuild(ctx, p, "apply", other))
	if in := e.checkInvariants(t, []string{id, other}, []gamemesh.PlayerID{p}); in[p] != other {
		t.Fatalf("p in %q", in[p])
	}
}

// Crash after disband's tombstone write, before the claims and the name are
// released: settle frees every former member and the name is reusable.
func TestCrashDuringDisband(t *testing.T) {
	e := newEnv(t, guild.Config{})
	ctx := functionstest.Context(t)
	lead := e.newPlayer()
	id := e.create(t, lead, "Ashes", true)
	ps := e.newPlayers(5)
	for _, p := range ps {
		e.must(t, e.onGuild(ctx, p, "apply", id))
	}
	e.faulty.CrashAfter("guild/g/", 1)
	functionstest.WantCode(t, e.onGuild(ctx, lead, "disband", id), gamemesh.CodeOK)
	e.faulty.Heal()
	all := append([]gamemesh.PlayerID{lead}, ps...)
	stale := 0
	for _, p := range all {
		if c := e.claimOf(t, p); c != nil && c.Guild == id {
			stale++
		}
	}
	if stale != len(all) {
		t.Fatalf("%d stale claims after the crash, want %d", stale, len(all))
	}
	for _, p := range all {
		if got := e.settle(t, p); got != "" {
			t.Fatalf("settle of %s = %q", p, got)
		}
		if e.claimOf(t, p) != nil {
			t.Fatalf("claim of %s survived settle", p)
		}
	}
	again := e.create(t, ps[0], "ASHES", false)
	e.checkInvariants(t, []string{id, again}, all)
}
