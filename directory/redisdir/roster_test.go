package redisdir

import (
	"context"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/internal/redistest"
)

func TestRosterAnnounceMembersLeave(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	clock := time.Unix(1_800_000_000, 0)
	r := NewRoster(srv.Client, "", 10*time.Second)
	r.now = func() time.Time { return clock }

	for _, m := range []directory.Member{
		{ID: "gate-2", Kind: directory.KindGate, Info: map[string]string{directory.InfoOnline: "7"}},
		{ID: "gate-1", Kind: directory.KindGate},
		{ID: "scene-1", Kind: directory.KindScene, Addr: "127.0.0.1:7200"},
	} {
		if err := r.Announce(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	gates, err := r.Members(ctx, directory.KindGate)
	if err != nil {
		t.Fatal(err)
	}
	if len(gates) != 2 || gates[0].ID != "gate-1" || gates[1].Info[directory.InfoOnline] != "7" {
		t.Fatalf("gates = %+v", gates)
	}
	all, _ := r.Members(ctx, "")
	if len(all) != 3 || all[2].Addr != "127.0.0.1:7200" {
		t.Fatalf("all = %+v", all)
	}
	if err := r.Leave(ctx, "gate-2"); err != nil {
		t.Fatal(err)
	}
	if gates, _ = r.Members(ctx, directory.KindGate); len(gates) != 1 {
		t.Fatalf("after leave: %+v", gates)
	}

	// A member not heard from within the TTL is absent; long dead, it is pruned.
	clock = clock.Add(11 * time.Second)
	if err := r.Announce(ctx, directory.Member{ID: "gate-1", Kind: directory.KindGate}); err != nil {
		t.Fatal(err)
	}
	if all, _ = r.Members(ctx, ""); len(all) != 1 || all[0].ID != "gate-1" {
		t.Fatalf("after scene-1 went silent: %+v", all)
	}
	if n := srv.Client.HLen(ctx, DefaultRosterKey).Val(); n != 2 {
		t.Fatalf("a recently silent member was pruned: %d fields", n)
	}
	clock = clock.Add(41 * time.Second)
	_, _ = r.Members(ctx, "")
	if n := srv.Client.HLen(ctx, DefaultRosterKey).Val(); n != 0 {
		t.Fatalf("long-dead members not pruned: %d fields", n)
	}

	// Garbage in the hash is ignored and removed, never returned.
	srv.Client.HSet(ctx, DefaultRosterKey, "junk", "{not json")
	if all, _ = r.Members(ctx, ""); len(all) != 0 {
		t.Fatalf("junk returned: %+v", all)
	}
}

func TestRosterBadMemberAndOutage(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	r := NewRoster(srv.Client, "", 0)
	if err := r.Announce(ctx, directory.Member{Kind: "gate"}); gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
		t.Fatalf("member without id: %v", err)
	}
	srv.Kill()
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := r.Members(cctx, ""); gamemesh.CodeOf(err) != gamemesh.CodeUnavailable {
		t.Fatalf("Members with Redis down: %v, want UNAVAILABLE", err)
	}
}

func TestAnnouncerKeepsMemberAliveAndLeaves(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	r := NewRoster(srv.Client, "", time.Second)
	n := 0
	a := &directory.Announcer{Roster: r, Member: directory.Member{ID: "gate-1", Kind: directory.KindGate},
		Interval: 50 * time.Millisecond, Report: func() map[string]string {
			n++ // only the announcer's goroutine (and Start) call Report
			return map[string]string{"n": "x"}
		}}
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // longer than the TTL: only re-announcing keeps it alive
	ms, err := r.Members(ctx, directory.KindGate)
	if err != nil || len(ms) != 1 || ms[0].Info["n"] != "x" {
		t.Fatalf("members = %+v, %v", ms, err)
	}
	if err := a.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if ms, _ = r.Members(ctx, ""); len(ms) != 0 {
		t.Fatalf("after Stop: %+v", ms)
	}
	if n < 10 {
		t.Fatalf("announced %d times in 1.5 s at 50 ms", n)
	}
}
