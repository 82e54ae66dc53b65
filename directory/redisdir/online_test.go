package redisdir

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/internal/redistest"
)

// The gate's and the functions' views of the directory.
var (
	_ interface {
		Register(context.Context, gamemesh.PlayerID, directory.Location) (directory.Location, error)
		Unregister(context.Context, gamemesh.PlayerID, string) error
	} = (*Online)(nil)
	_ directory.Locator = (*Online)(nil)
)

func TestOnlineRegisterLocateUnregister(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	// Two processes (gates) sharing one Redis.
	a, b := NewOnline(srv.Client, OnlineOptions{}), NewOnline(srv.Client, OnlineOptions{})
	if _, err := a.Locate(ctx, "p1"); !errors.Is(err, gamemesh.ErrNotFound) {
		t.Fatalf("offline: %v, want NOT_FOUND", err)
	}
	prev, err := a.Register(ctx, "p1", directory.Location{Gate: "g1", Session: "s1"})
	if err != nil || prev != (directory.Location{}) {
		t.Fatalf("first register: %v %v", prev, err)
	}
	if loc, err := b.Locate(ctx, "p1"); err != nil || loc != (directory.Location{Gate: "g1", Session: "s1"}) {
		t.Fatalf("seen from another process: %v %v", loc, err)
	}
	prev, err = b.Register(ctx, "p1", directory.Location{Gate: "g2", Session: "s2"})
	if err != nil || prev != (directory.Location{Gate: "g1", Session: "s1"}) {
		t.Fatalf("second register: prev %v %v, want g1/s1", prev, err)
	}
	// The older session's end leaves the newer one alone.
	if err := a.Unregister(ctx, "p1", "s1"); err != nil {
		t.Fatal(err)
	}
	if loc, _ := a.Locate(ctx, "p1"); loc.Session != "s2" {
		t.Fatalf("the old session's end removed the new one: %v", loc)
	}
	// A session id that is a suffix of the real one is not the real one.
	if err := b.Unregister(ctx, "p1", "2"); err != nil {
		t.Fatal(err)
	}
	if loc, _ := a.Locate(ctx, "p1"); loc.Session != "s2" {
		t.Fatalf("unregistering a suffix of the session removed it: %v", loc)
	}
	if err := b.Unregister(ctx, "p1", "s2"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Locate(ctx, "p1"); !errors.Is(err, gamemesh.ErrNotFound) {
		t.Fatalf("after logout: %v", err)
	}
	if a.Registered() != 0 || b.Registered() != 0 {
		t.Fatalf("still refreshing %d and %d entries", a.Registered(), b.Registered())
	}
}

func TestOnlineBadInputAndCorruptEntry(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	o := NewOnline(srv.Client, OnlineOptions{})
	for _, loc := range []directory.Location{{}, {Gate: "g1"}, {Session: "s"}, {Gate: "g|1", Session: "s"}, {Gate: "g", Session: "s|x"}} {
		if _, err := o.Register(ctx, "p1", loc); gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
			t.Errorf("register at %+v: %v, want INVALID_ARGUMENT", loc, err)
		}
	}
	if _, err := o.Register(ctx, "bad id!", directory.Location{Gate: "g", Session: "s"}); gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
		t.Errorf("bad player id: %v", err)
	}
	if n := srv.Client.DBSize(ctx).Val(); n != 0 {
		t.Fatalf("refused registrations wrote %d keys", n)
	}
	srv.Client.Set(ctx, DefaultOnlinePrefix+"p2", "garbage", 0)
	if _, err := o.Locate(ctx, "p2"); gamemesh.CodeOf(err) != gamemesh.CodeInternal {
		t.Fatalf("corrupt entry: %v, want INTERNAL", err)
	}
	// Registering over a corrupt entry replaces it and reports no previous location.
	if prev, err := o.Register(ctx, "p2", directory.Location{Gate: "g", Session: "s"}); err != nil || prev != (directory.Location{}) {
		t.Fatalf("register over garbage: %v %v", prev, err)
	}
}

func TestOnlineDeadGateDisappearsLiveSessionStays(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	live := NewOnline(srv.Client, OnlineOptions{TTL: time.Second})
	dead := NewOnline(srv.Client, OnlineOptions{TTL: time.Second})
	if err := live.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer live.Stop(ctx)
	if err := dead.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := live.Register(ctx, "long", directory.Location{Gate: "g1", Session: "s1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := dead.Register(ctx, "lost", directory.Location{Gate: "g2", Session: "s2"}); err != nil {
		t.Fatal(err)
	}
	// g2 dies: its refreshes stop and nobody unregisters its players.
	if err := dead.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	// Well past the TTL: only refreshing keeps an entry alive.
	time.Sleep(2500 * time.Millisecond)
	if _, err := live.Locate(ctx, "lost"); !errors.Is(err, gamemesh.ErrNotFound) {
		t.Fatalf("a dead gate's player: %v, want NOT_FOUND", err)
	}
	if loc, err := live.Locate(ctx, "long"); err != nil || loc.Gate != "g1" {
		t.Fatalf("a live session past the TTL: %v %v, want still at g1", loc, err)
	}
	if ttl := srv.Client.PTTL(ctx, DefaultOnlinePrefix+"long").Val(); ttl <= 0 || ttl > time.Second {
		t.Fatalf("entry TTL %v, want within (0, 1s]", ttl)
	}
}

func TestOnlineRefreshDropsTakenOverAndRestoresExpired(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	a, b := NewOnline(srv.Client, OnlineOptions{}), NewOnline(srv.Client, OnlineOptions{})
	for i := range 1200 { // more than one pipelined batch
		if _, err := a.Register(ctx, gamemesh.PlayerID(fmt.Sprintf("p%d", i)), directory.Location{Gate: "ga", Session: fmt.Sprintf("s%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	// p1 moves to gate b; p2's entry is lost (as if Redis had been down
	// past its TTL).
	if _, err := b.Register(ctx, "p1", directory.Location{Gate: "gb", Session: "x"}); err != nil {
		t.Fatal(err)
	}
	srv.Client.Del(ctx, DefaultOnlinePrefix+"p2")
	srv.Client.ScriptFlush(ctx) // the refresh must reload its script
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if a.Registered() != 1199 {
		t.Fatalf("refreshing %d entries, want 1199 (p1 was taken over)", a.Registered())
	}
	if loc, _ := a.Locate(ctx, "p1"); loc.Gate != "gb" {
		t.Fatalf("refresh overwrote the newer registration: %v", loc)
	}
	if loc, err := a.Locate(ctx, "p2"); err != nil || loc.Session != "s2" {
		t.Fatalf("expired entry not restored: %v %v", loc, err)
	}
	// An entry unregistered is not brought back by a refresh.
	if err := a.Unregister(ctx, "p3", "s3"); err != nil {
		t.Fatal(err)
	}
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Locate(ctx, "p3"); !errors.Is(err, gamemesh.ErrNotFound) {
		t.Fatalf("unregistered entry came back: %v", err)
	}
}

func TestOnlineConcurrentLoginsOneWinner(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	// 20 gates register the same player at once: every registration sees a
	// different predecessor (a chain), so each older session is kicked once.
	const n = 20
	prevs := make([]directory.Location, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := NewOnline(srv.Client, OnlineOptions{})
			p, err := o.Register(ctx, "p1", directory.Location{Gate: fmt.Sprintf("g%d", i), Session: "s"})
			if err != nil {
				t.Error(err)
			}
			prevs[i] = p
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	empty := 0
	for _, p := range prevs {
		if p == (directory.Location{}) {
			empty++
			continue
		}
		if seen[p.Gate] {
			t.Fatalf("two registrations replaced %s", p.Gate)
		}
		seen[p.Gate] = true
	}
	if empty != 1 {
		t.Fatalf("%d registrations saw no predecessor, want exactly 1", empty)
	}
}

func TestOnlineRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	o := NewOnline(srv.Client, OnlineOptions{})
	srv.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := o.Register(ctx, "p1", directory.Location{Gate: "g", Session: "s"}); gamemesh.CodeOf(err) != gamemesh.CodeUnavailable {
		t.Fatalf("register: %v, want UNAVAILABLE", err)
	}
	if o.Registered() != 0 {
		t.Fatalf("a failed registration is refreshed")
	}
	if _, err := o.Locate(ctx, "p1"); gamemesh.CodeOf(err) != gamemesh.CodeUnavailable {
		t.Fatalf("locate: %v, want UNAVAILABLE (never NOT_FOUND)", err)
	}
	if err := o.Unregister(ctx, "p1", "s"); gamemesh.CodeOf(err) != gamemesh.CodeUnavailable {
		t.Fatalf("unregister: %v, want UNAVAILABLE", err)
	}
}
