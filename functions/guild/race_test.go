package guild_test

// Concurrency tests, written once over an env and run on the in-test store
// (TestX) and on the embedded adapters (TestEmbeddedX, embedded_test.go).

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	"github.com/gamemesh/gamemesh/functions/guild"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// outcomes counts the codes of concurrent calls.
type outcomes struct {
	mu    sync.Mutex
	codes map[gamemesh.Code]int
	msgs  map[string]int
	first map[gamemesh.Code]error
}

func newOutcomes() *outcomes {
	return &outcomes{codes: map[gamemesh.Code]int{}, msgs: map[string]int{}, first: map[gamemesh.Code]error{}}
}

func (o *outcomes) add(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := gamemesh.CodeOf(err)
	o.codes[c]++
	o.msgs[gamemesh.MessageOf(err)]++
	if _, ok := o.first[c]; !ok {
		o.first[c] = err
	}
}

// only fails the test if a code outside allowed was seen.
func (o *outcomes) only(t *testing.T, allowed ...gamemesh.Code) {
	t.Helper()
	for c, n := range o.codes {
		ok := false
		for _, a := range allowed {
			ok = ok || a == c
		}
		if !ok {
			t.Fatalf("%d calls ended with %v, e.g. %v", n, c, o.first[c])
		}
	}
}

// testCapRace: 100 concurrent joins (60 approvals of applications by the
// leader and an officer, 40 acceptances of invitations) into a guild with
// cap 50 that already has 2 members: exactly 48 succeed, the others are
// LIMIT_REACHED, and the guild ends with exactly 50 members.
func testCapRace(t *testing.T, e *env) {
	ctx := functionstest.Context(t)
	lead, officer := e.newPlayer(), e.newPlayer()
	id := e.create(t, lead, "Capped", false)
	e.join(t, id, lead, officer)
	e.must(t, e.target(ctx, lead, "promote", id, officer))
	players := e.newPlayers(100)
	for i, p := range players {
		if i < 60 {
			e.must(t, e.onGuild(ctx, p, "apply", id))
		} else {
			e.must(t, e.target(ctx, officer, "invite", id, p))
		}
	}
	res := newOutcomes()
	var wg sync.WaitGroup
	for i, p := range players {
		wg.Go(func() {
			switch {
			case i >= 60:
				res.add(e.onGuild(ctx, p, "accept", id))
			case i%2 == 0:
				res.add(e.target(ctx, lead, "approve", id, p))
			default:
				res.add(e.target(ctx, officer, "approve", id, p))
			}
		})
	}
	wg.Wait()
	res.only(t, gamemesh.CodeOK, gamemesh.CodeLimitReached)
	if res.codes[gamemesh.CodeOK] != 48 || res.msgs["guild is full"] != 52 {
		t.Fatalf("%d joins succeeded and %d were refused as full; want 48 and 52", res.codes[gamemesh.CodeOK], res.msgs["guild is full"])
	}
	in := e.checkInvariants(t, []string{id}, players)
	members := 0
	for _, p := range players {
		if in[p] == id {
			members++
		} else if c := e.claimOf(t, p); c != nil {
			t.Fatalf("refused player %s holds claim %+v", p, c)
		}
	}
	if g := e.guildRec(t, id); len(g.Members) != 50 || members != 48 || len(g.Reserved) != 0 {
		t.Fatalf("guild has %d members (%d new), %d reservations; want 50 (48), 0", len(g.Members), members, len(g.Reserved))
	}
}

// testTwentyGuilds: players each apply to the same 20 guilds; then all the
// approvals run at once. Each player ends in exactly one guild; the other
// approvals fail with CONFLICT "player is already in a guild", and those
// guilds keep neither a member, a reservation nor an application for it.
func testTwentyGuilds(t *testing.T, e *env) {
	ctx := functionstest.Context(t)
	const nGuilds, nPlayers = 20, 3
	leaders := e.newPlayers(nGuilds)
	ids := make([]string, nGuilds)
	for i, l := range leaders {
		ids[i] = e.create(t, l, fmt.Sprintf("Guild %02d", i), false)
	}
	players := e.newPlayers(nPlayers)
	applied := newOutcomes()
	var wg sync.WaitGroup
	for _, p := range players {
		for _, id := range ids {
			wg.Go(func() { applied.add(e.onGuild(ctx, p, "apply", id)) })
		}
	}
	wg.Wait()
	applied.only(t, gamemesh.CodeOK)

	res := newOutcomes()
	perPlayer := make([]atomic.Int32, nPlayers)
	for i, l := range leaders {
		for j, p := range players {
			wg.Go(func() {
				err := e.target(ctx, l, "approve", ids[i], p)
				res.add(err)
				if err == nil {
					perPlayer[j].Add(1)
				}
			})
		}
	}
	wg.Wait()
	res.only(t, gamemesh.CodeOK, gamemesh.CodeConflict)
	if res.codes[gamemesh.CodeOK] != nPlayers || res.msgs["player is already in a guild"] != nPlayers*(nGuilds-1) {
		t.Fatalf("outcomes %v, want %d successes and %d 'already in a guild'", res.msgs, nPlayers, nPlayers*(nGuilds-1))
	}
	in := e.checkInvariants(t, ids, players)
	for j, p := range players {
		if perPlayer[j].Load() != 1 || in[p] == "" {
			t.Fatalf("player %s: %d approvals succeeded, member of %q", p, perPlayer[j].Load(), in[p])
		}
		if got := e.settle(t, p); got != in[p] {
			t.Fatalf("settle of %s says %q, the records say %q", p, got, in[p])
		}
		for _, id := range ids {
			if id == in[p] {
				continue
			}
			g := e.guildRec(t, id)
			_, app := g.Apps[string(p)]
			_, res := g.Reserved[string(p)]
			_, mem := g.Members[string(p)]
			if app || res || mem {
				t.Fatalf("guild %s still has application %v, reservation %v, member %v for %s", id, app, res, mem, p)
			}
		}
	}
}

// testNameRace: two players create, at the same time, names that differ
// only in case and width; exactly one wins each round, and the loser's claim
// is released.
func testNameRace(t *testing.T, e *env) {
	ctx := functionstest.Context(t)
	for round := range 10 {
		a, b := e.newPlayer(), e.newPlayer()
		names := []string{fmt.Sprintf("Knights %d", round), fmt.Sprintf("ＫＮＩＧＨＴＳ %c", '０'+rune(round))}
		res := newOutcomes()
		ids := make([]string, 2)
		var wg sync.WaitGroup
		for i, p := range []gamemesh.PlayerID{a, b} {
			wg.Go(func() {
				out, err := e.do(ctx, p, "create", &gamev1.CreateGuildRequest{Name: names[i]})
				res.add(err)
				if err == nil {
					ids[i] = out.Guild.Id
				}
			})
		}
		wg.Wait()
		res.only(t, gamemesh.CodeOK, gamemesh.CodeConflict)
		if res.codes[gamemesh.CodeOK] != 1 || res.msgs["guild name is taken"] != 1 {
			t.Fatalf("round %d: outcomes %v, want one winner and one 'guild name is taken'", round, res.msgs)
		}
		e.checkInvariants(t, ids, nil)
		for i, p := range []gamemesh.PlayerID{a, b} {
			if ids[i] == "" && e.claimOf(t, p) != nil {
				t.Fatalf("round %d: the loser kept a claim", round)
			}
		}
	}
}

// testLeaderRace: the leader transfers to five officers at once while the
// officers try to transfer on, and promotions and demotions fly: every
// record written has exactly one leader, and exactly one transfer by the
// original leader succeeds.
func testLeaderRace(t *testing.T, e *env) {
	ctx := functionstest.Context(t)
	lead := e.newPlayer()
	id := e.create(t, lead, "Crowns", true)
	officers, members := e.newPlayers(5), e.newPlayers(5)
	for _, p := range append(append([]gamemesh.PlayerID{}, officers...), members...) {
		e.must(t, e.onGuild(ctx, p, "apply", id))
	}
	for _, p := range officers {
		e.must(t, e.target(ctx, lead, "promote", id, p))
	}
	var fromLead atomic.Int32
	res := newOutcomes()
	var wg sync.WaitGroup
	for i, o := range officers {
		wg.Go(func() {
			err := e.target(ctx, lead, "transfer", id, o)
			if err == nil {
				fromLead.Add(1)
			}
			res.add(err)
		})
		wg.Go(func() { res.add(e.target(ctx, o, "transfer", id, members[i])) })
		wg.Go(func() { res.add(e.target(ctx, o, "promote", id, members[(i+1)%5])) })
		wg.Go(func() { res.add(e.target(ctx, lead, "demote", id, officers[(i+2)%5])) })
		wg.Go(func() { res.add(e.target(ctx, members[i], "promote", id, members[(i+3)%5])) })
	}
	wg.Wait()
	res.only(t, gamemesh.CodeOK, gamemesh.CodePermissionDenied, gamemesh.CodeInvalidArgument)
	if fromLead.Load() != 1 {
		t.Fatalf("%d transfers by the original leader succeeded, want exactly 1", fromLead.Load())
	}
	e.checkInvariants(t, []string{id}, nil)
	info, err := e.do(ctx, lead, "info", &gamev1.GuildRequest{GuildId: id})
	if err != nil || info.Guild.LeaderId == string(lead) || info.Guild.MemberCount != 11 {
		t.Fatalf("info after the race = %v, %v", info, err)
	}
}

// testDisbandRace: approvals and acceptances race a disband. Joins either
// succeed before it or fail with NOT_FOUND; afterwards the guild lists no
// one, no membership key points at it (after settle), and every player can
// join another guild.
func testDisbandRace(t *testing.T, e *env) {
	ctx := functionstest.Context(t)
	lead, officer := e.newPlayer(), e.newPlayer()
	id := e.create(t, lead, "Doomed", false)
	e.join(t, id, lead, officer)
	e.must(t, e.target(ctx, lead, "promote", id, officer))
	players := e.newPlayers(40)
	for i, p := range players {
		if i%2 == 0 {
			e.must(t, e.onGuild(ctx, p, "apply", id))
		} else {
			e.must(t, e.target(ctx, officer, "invite", id, p))
		}
	}
	res := newOutcomes()
	var started atomic.Int32
	var wg sync.WaitGroup
	disbanded := make(chan error, 1)
	wg.Go(func() {
		for started.Load() < 10 {
			runtime.Gosched()
		}
		disbanded <- e.onGuild(ctx, lead, "disband", id)
	})
	for i, p := range players {
		wg.Go(func() {
			started.Add(1)
			if i%2 == 0 {
				res.add(e.target(ctx, officer, "approve", id, p))
			} else {
				res.add(e.onGuild(ctx, p, "accept", id))
			}
		})
	}
	wg.Wait()
	if err := <-disbanded; err != nil {
		t.Fatalf("disband: %v", err)
	}
	res.only(t, gamemesh.CodeOK, gamemesh.CodeNotFound)
	// Nothing joins afterwards.
	wantErr(t, e.target(ctx, officer, "approve", id, players[0]), gamemesh.CodeNotFound, "guild has been disbanded")
	wantErr(t, e.onGuild(ctx, players[1], "accept", id), gamemesh.CodeNotFound, "guild has been disbanded")
	g := e.guildRec(t, id)
	if g == nil || g.State != "disbanded" || len(g.Members) != 0 || len(g.Reserved) != 0 {
		t.Fatalf("disbanded record = %+v", g)
	}
	everyone := append([]gamemesh.PlayerID{lead, officer}, players...)
	for _, p := range everyone {
		if got := e.settle(t, p); got != "" {
			t.Fatalf("%s still in %s after disband", p, got)
		}
		if c := e.claimOf(t, p); c != nil {
			t.Fatalf("%s's claim points at %s after settle", p, c.Guild)
		}
	}
	other := e.create(t, e.newPlayer(), "Afterlife", true)
	for _, p := range everyone {
		e.must(t, e.onGuild(ctx, p, "apply", other))
	}
	e.checkInvariants(t, []string{id, other}, everyone)
	t.Logf("disband race: %d joins before the disband, %d refused", res.codes[gamemesh.CodeOK], res.codes[gamemesh.CodeNotFound])
}

func TestCapRace(t *testing.T)      { testCapRace(t, newEnv(t, guild.Config{})) }
func TestTwentyGuilds(t *testing.T) { testTwentyGuilds(t, newEnv(t, guild.Config{})) }
func TestNameRace(t *testing.T)     { testNameRace(t, newEnv(t, guild.Config{})) }
func TestLeaderRace(t *testing.T)   { testLeaderRace(t, newEnv(t, guild.Config{})) }
func TestDisbandRace(t *testing.T)  { testDisbandRace(t, newEnv(t, guild.Config{})) }

// Concurrent approvals of one applicant drive one join: all succeed, the
// player is added once and told once.
func TestConcurrentApprovalsOfOnePlayer(t *testing.T) {
	e := newEnv(t, guild.Config{})
	ctx := functionstest.Context(t)
	lead, officer, p := e.newPlayer(), e.newPlayer(), e.newPlayer()
	id := e.create(t, lead, "Twice", false)
	e.join(t, id, lead, officer)
	e.must(t, e.target(ctx, lead, "promote", id, officer))
	e.must(t, e.onGuild(ctx, p, "apply", id))
	e.pushes.take()
	res := newOutcomes()
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			by := lead
			if i%2 == 1 {
				by = officer
			}
			res.add(e.target(ctx, by, "approve", id, p))
		})
	}
	wg.Wait()
	res.only(t, gamemesh.CodeOK)
	if g := e.guildRec(t, id); len(g.Members) != 3 || g.Members[string(p)].Role != "member" {
		t.Fatalf("members = %v", g.Members)
	}
	if got := e.pushes.take(); len(got) != 1 || got[0].player != p {
		t.Fatalf("pushes = %+v, want one JOINED to the applicant", got)
	}
}
