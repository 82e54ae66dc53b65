package directory

import (
	"context"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
)

func TestMemoryScenesClaims(t *testing.T) {
	ctx := context.Background()
	clock := time.Unix(1_800_000_000, 0)
	s := NewMemoryScenes()
	s.now = func() time.Time { return clock }
	if owner, err := s.Claim(ctx, "city", "scene-1", 5*time.Second); err != nil || owner != "scene-1" {
		t.Fatalf("first claim = %q, %v", owner, err)
	}
	if owner, _ := s.Claim(ctx, "city", "scene-2", 5*time.Second); owner != "scene-1" {
		t.Fatalf("a held claim was taken by %q", owner)
	}
	_ = s.Release(ctx, "city", "scene-2") // not its claim: nothing happens
	if owner, _ := s.Owner(ctx, "city"); owner != "scene-1" {
		t.Fatalf("owner = %q", owner)
	}
	clock = clock.Add(4 * time.Second)
	if owner, _ := s.Claim(ctx, "city", "scene-1", 5*time.Second); owner != "scene-1" { // renewal
		t.Fatalf("renewal = %q", owner)
	}
	clock = clock.Add(6 * time.Second) // scene-1 stopped renewing
	if _, err := s.Owner(ctx, "city"); gamemesh.CodeOf(err) != gamemesh.CodeNotFound {
		t.Fatalf("lapsed claim still owned: %v", err)
	}
	if owner, _ := s.Claim(ctx, "city", "scene-2", 5*time.Second); owner != "scene-2" {
		t.Fatalf("lapsed claim not taken: %q", owner)
	}
	_ = s.Release(ctx, "city", "scene-2")
	if _, err := s.Owner(ctx, "city"); gamemesh.CodeOf(err) != gamemesh.CodeNotFound {
		t.Fatalf("released claim still owned: %v", err)
	}
	if _, err := s.Claim(ctx, "", "scene-1", time.Second); gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
		t.Fatalf("empty scene: %v", err)
	}
}

func TestSceneLocator(t *testing.T) {
	ctx := context.Background()
	s, r := NewMemoryScenes(), NewMemoryRoster(0)
	l := SceneLocator{Scenes: s, Roster: r}
	if _, _, err := l.Locate(ctx, "city"); gamemesh.CodeOf(err) != gamemesh.CodeNotFound {
		t.Fatalf("unowned: %v", err)
	}
	_, _ = s.Claim(ctx, "city", "scene-1", time.Minute)
	if _, _, err := l.Locate(ctx, "city"); gamemesh.CodeOf(err) != gamemesh.CodeUnavailable {
		t.Fatalf("owner not in the roster: %v", err)
	}
	_ = r.Announce(ctx, Member{ID: "scene-1", Kind: KindScene, Addr: "127.0.0.1:7300"})
	if host, addr, err := l.Locate(ctx, "city"); err != nil || host != "scene-1" || addr != "127.0.0.1:7300" {
		t.Fatalf("locate = %q %q %v", host, addr, err)
	}
}
