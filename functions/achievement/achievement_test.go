package achievement_test

import (
	"fmt"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions/achievement"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

func TestSameEventFiveTimesCountedOnce(t *testing.T) {
	e := newEnv(t)
	p := gamemesh.NewPlayerID()
	for i := range 5 {
		out, err := e.record(functionstest.Context(t), kill(p, "ev-1", 3))
		if err != nil {
			t.Fatal(err)
		}
		if out.Duplicate != (i > 0) {
			t.Fatalf("delivery %d: duplicate = %v", i, out.Duplicate)
		}
	}
	if got := e.list(t, p).Counters["kills"]; got != 3 {
		t.Fatalf("kills = %d, want 3", got)
	}
}

func TestTenKillsUnlockTier(t *testing.T) {
	e := newEnv(t)
	p := gamemesh.NewPlayerID()
	for i := range 10 {
		out, err := e.record(functionstest.Context(t), kill(p, "k-"+string(rune('a'+i)), 1))
		if err != nil {
			t.Fatal(err)
		}
		if i < 9 && len(out.Unlocked) != 0 {
			t.Fatalf("unlock after %d kills", i+1)
		}
		if i == 9 && (len(out.Unlocked) != 1 || out.Unlocked[0].Id != "kills_10" || out.Unlocked[0].RewardPending) {
			t.Fatalf("10th kill answered %v", out.Unlocked)
		}
	}
	l := e.list(t, p)
	if l.Counters["kills"] != 10 || len(l.Achievements) != 1 || l.Achievements[0].Id != "kills_10" {
		t.Fatalf("list = %v", l)
	}
	wantOneRewardMail(t, e, p, "gold", 100)
	if e.pushes.count() != 1 {
		t.Fatalf("%d pushes, want 1", e.pushes.count())
	}
	// More kills below the next tier: no new unlock, no new mail.
	if _, err := e.record(functionstest.Context(t), kill(p, "k-more", 5)); err != nil {
		t.Fatal(err)
	}
	wantOneRewardMail(t, e, p, "gold", 100)
}

// The reward mail is sent, then the write that clears "pending" fails; the
// event is redelivered: mail is asked again with the same request id and
// answers the same mail.
func TestRewardOnceWhenWriteFailsAfterMail(t *testing.T) {
	e := newEnv(t)
	p := gamemesh.NewPlayerID()
	fail := func() { e.faulty.FailWrites(1) }
	e.gate.afterSend.Store(&fail)
	ev := kill(p, "big-1", 10)
	if _, err := e.record(functionstest.Context(t), ev); gamemesh.CodeOf(err) != gamemesh.CodeUnavailable {
		t.Fatalf("first delivery: %v, want UNAVAILABLE", err)
	}
	if n := e.gate.sends.Load(); n != 1 {
		t.Fatalf("%d sends, want 1", n)
	}
	if l := e.list(t, p); len(l.Achievements) != 1 || l.Achievements[0].RewardPending {
		// list retried the pending reward: the flag is clear now.
		t.Fatalf("after list: %v", l.Achievements)
	}
	out, err := e.record(functionstest.Context(t), ev) // the redelivery
	if err != nil {
		t.Fatal(err)
	}
	if !out.Duplicate || out.PendingRewards != 0 {
		t.Fatalf("redelivery answered %v", out)
	}
	wantOneRewardMail(t, e, p, "gold", 100)
	if got := e.list(t, p).Counters["kills"]; got != 10 {
		t.Fatalf("kills = %d", got)
	}
}

// Same, but the redelivery (not list) is what clears the flag.
func TestRedeliveryFinishesReward(t *testing.T) {
	e := newEnv(t)
	p := gamemesh.NewPlayerID()
	fail := func() { e.faulty.FailWrites(1) }
	e.gate.afterSend.Store(&fail)
	ev := kill(p, "big-2", 10)
	if _, err := e.record(functionstest.Context(t), ev); err == nil {
		t.Fatal("first delivery succeeded despite the failed write")
	}
	out, err := e.record(functionstest.Context(t), ev)
	if err != nil || !out.Duplicate || out.PendingRewards != 0 {
		t.Fatalf("redelivery: %v, %v", out, err)
	}
	if n := e.gate.sends.Load(); n != 2 {
		t.Fatalf("%d mail.send calls, want 2 (the retry deduped by mail)", n)
	}
	wantOneRewardMail(t, e, p, "gold", 100)
}

func TestMailDownRewardPendingThenOnce(t *testing.T) {
	e := newEnv(t)
	p := gamemesh.NewPlayerID()
	e.gate.down.Store(true)
	out, err := e.record(functionstest.Context(t), kill(p, "e1", 10))
	if err != nil {
		t.Fatal(err)
	}
	if out.PendingRewards != 1 || len(out.Unlocked) != 1 || !out.Unlocked[0].RewardPending {
		t.Fatalf("answered %v, want the reward pending", out)
	}
	if l := e.list(t, p); !l.Achievements[0].RewardPending {
		t.Fatal("reward not pending while mail is down")
	}
	if len(e.mails(t, p)) != 0 {
		t.Fatal("mail delivered while down")
	}
	e.gate.down.Store(false)
	if l := e.list(t, p); l.Achievements[0].RewardPending {
		t.Fatal("list did not deliver the pending reward")
	}
	e.list(t, p)
	if _, err := e.record(functionstest.Context(t), kill(p, "e2", 1)); err != nil {
		t.Fatal(err)
	}
	wantOneRewardMail(t, e, p, "gold", 100)
	if n := e.gate.sends.Load(); n != 1 {
		t.Fatalf("%d sends, want 1", n)
	}
}

func TestMailDownThenNextEventDelivers(t *testing.T) {
	e := newEnv(t)
	p := gamemesh.NewPlayerID()
	e.gate.down.Store(true)
	if _, err := e.record(functionstest.Context(t), kill(p, "e1", 10)); err != nil {
		t.Fatal(err)
	}
	e.gate.down.Store(false)
	out, err := e.record(functionstest.Context(t), kill(p, "e2", 1))
	if err != nil || out.PendingRewards != 0 {
		t.Fatalf("next event: %v, %v", out, err)
	}
	wantOneRewardMail(t, e, p, "gold", 100)
}

func TestMalformedEventsRefused(t *testing.T) {
	e := newEnv(t)
	p := gamemesh.NewPlayerID()
	if _, err := e.record(functionstest.Context(t), kill(p, "seed", 2)); err != nil {
		t.Fatal(err)
	}
	cases := map[string]*gamev1.GameEvent{
		"empty kind":      {Id: "x1", PlayerId: string(p)},
		"bad kind":        {Id: "x2", PlayerId: string(p), Kind: "Monster Killed!"},
		"long kind":       {Id: "x3", PlayerId: string(p), Kind: "k_234567890123456789012345678901234"},
		"negative count":  kill(p, "x4", -3),
		"huge count":      kill(p, "x5", 2_000_000),
		"negative level":  {Id: "x6", PlayerId: string(p), Kind: "level_up", Level: -1},
		"missing player":  {Id: "x7", Kind: "monster_killed"},
		"bad player":      {Id: "x8", PlayerId: "P L", Kind: "monster_killed"},
		"missing id":      {PlayerId: string(p), Kind: "monster_killed"},
		"id with a space": {Id: "a b", PlayerId: string(p), Kind: "monster_killed"},
	}
	before := e.mem.Snapshot()
	for name, ev := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := e.record(functionstest.Context(t), ev)
			functionstest.WantCode(t, err, gamemesh.CodeInvalidArgument)
			body, _ := proto.Marshal(ev)
			// From the topic: acknowledged (nil) and dropped.
			if err := e.app.HandleEvent(functionstest.Context(t), gamemesh.Event{ID: "ignored id!", Topic: achievement.EventsTopic, Data: body}); err != nil {
				t.Fatalf("HandleEvent: %v", err)
			}
			functionstest.WantSame(t, before, e.mem.Snapshot())
		})
	}
	_, err := e.inv.Invoke(functionstest.Context(t), gamemesh.Request{App: achievement.AppName, Method: "record", ID: "g1", Body: []byte{0xff, 0xff, 0xff}})
	functionstest.WantCode(t, err, gamemesh.CodeBadRequest)
	functionstest.WantSame(t, before, e.mem.Snapshot())
}

// A rule that raises a Lua error: the event is not acknowledged, nothing changes.
func TestRuleErrorNotAcknowledged(t *testing.T) {
	e := newEnv(t)
	p := gamemesh.NewPlayerID()
	if _, err := e.record(functionstest.Context(t), kill(p, "seed", 9)); err != nil {
		t.Fatal(err)
	}
	before := e.mem.Snapshot()
	bad := &gamev1.GameEvent{Id: "lvl", PlayerId: string(p), Kind: "level_up"} // the rule demands a level
	body, _ := proto.Marshal(bad)
	err := e.app.HandleEvent(functionstest.Context(t), gamemesh.Event{ID: "lvl", Topic: achievement.EventsTopic, Data: body})
	if err == nil {
		t.Fatal("a failing rule acknowledged the event")
	}
	_, err = e.record(functionstest.Context(t), bad)
	functionstest.WantCode(t, err, gamemesh.CodeInternal)
	functionstest.WantSame(t, before, e.mem.Snapshot())
	// The same id with a good payload is not taken for a duplicate.
	out, err := e.record(functionstest.Context(t), &gamev1.GameEvent{Id: "lvl", PlayerId: string(p), Kind: "level_up", Level: 3})
	if err != nil || out.Duplicate {
		t.Fatalf("after the rule error: %v, %v", out, err)
	}
}

func TestFeatureOffKeepsEventsQueued(t *testing.T) {
	e := newEnv(t)
	p := gamemesh.NewPlayerID()
	e.off.off.Store(true)
	before := e.mem.Snapshot()
	body, _ := proto.Marshal(kill(p, "f1", 1))
	err := e.app.HandleEvent(functionstest.Context(t), gamemesh.Event{ID: "f1", Topic: achievement.EventsTopic, Data: body})
	functionstest.WantCode(t, err, gamemesh.CodeFeatureDisabled)
	_, err = e.record(functionstest.Context(t), kill(p, "f1", 1))
	functionstest.WantCode(t, err, gamemesh.CodeFeatureDisabled)
	err = e.call(functionstest.Context(t), p, achievement.AppName, "list", &gamev1.ListAchievementsRequest{}, new(gamev1.ListAchievementsResponse))
	functionstest.WantCode(t, err, gamemesh.CodeFeatureDisabled)
	functionstest.WantSame(t, before, e.mem.Snapshot())
	e.off.off.Store(false)
	if err := e.app.HandleEvent(functionstest.Context(t), gamemesh.Event{ID: "f1", Topic: achievement.EventsTopic, Data: body}); err != nil {
		t.Fatal(err)
	}
	if got := e.list(t, p).Counters["kills"]; got != 1 {
		t.Fatalf("kills = %d", got)
	}
}

func TestListNeedsPlayerAndRecordIsPrivate(t *testing.T) {
	e := newEnv(t)
	err := e.call(functionstest.Context(t), "", achievement.AppName, "list", &gamev1.ListAchievementsRequest{}, new(gamev1.ListAchievementsResponse))
	functionstest.WantCode(t, err, gamemesh.CodeNotLoggedIn)
	p := gamemesh.NewPlayerID()
	err = e.call(functionstest.Context(t), p, achievement.AppName, "record", kill(p, "x1", 1), new(gamev1.RecordEventResponse))
	functionstest.WantCode(t, err, gamemesh.CodeUnknownRoute)
}

func TestRewardRequestIDFitsMail(t *testing.T) {
	if got := achievement.RewardRequestID("pabc", "kills_10"); got != "ach-pabc-kills_10" {
		t.Fatalf("got %q", got)
	}
	long := gamemesh.PlayerID("p0123456789012345678901234567890123456789012345678901234567890")
	if got := achievement.RewardRequestID(long, "kills_1000"); len(got) > 64 || len(got) < 8 {
		t.Fatalf("long id %q", got)
	}
}

// Concurrent deliveries of one player's events, each twice: every event
// counted once (ETag conflicts re-read and re-run the rules).
func TestConcurrentEventsOfOnePlayer(t *testing.T) {
	e := newEnv(t)
	p := gamemesh.NewPlayerID()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 20 {
		for range 2 {
			wg.Go(func() {
				_, err := e.record(functionstest.Context(t), kill(p, fmt.Sprintf("c-%d", i), 1))
				errs <- err
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := e.list(t, p).Counters["kills"]; got != 20 {
		t.Fatalf("kills = %d, want 20", got)
	}
	wantOneRewardMail(t, e, p, "gold", 100)
}
