package redisdir

import (
	"context"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/internal/redistest"
)

func TestScenesClaims(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	s := NewScenes(srv.Client, "")
	if owner, err := s.Claim(ctx, "city", "scene-1", 300*time.Millisecond); err != nil || owner != "scene-1" {
		t.Fatalf("first claim = %q, %v", owner, err)
	}
	if owner, err := s.Claim(ctx, "city", "scene-2", time.Second); err != nil || owner != "scene-1" {
		t.Fatalf("a held claim was taken: %q, %v", owner, err)
	}
	if err := s.Release(ctx, "city", "scene-2"); err != nil {
		t.Fatal(err)
	}
	if owner, _ := s.Owner(ctx, "city"); owner != "scene-1" {
		t.Fatalf("another host released the claim: owner %q", owner)
	}
	time.Sleep(400 * time.Millisecond) // scene-1 stops renewing
	if _, err := s.Owner(ctx, "city"); gamemesh.CodeOf(err) != gamemesh.CodeNotFound {
		t.Fatalf("lapsed claim: %v", err)
	}
	if owner, _ := s.Claim(ctx, "city", "scene-2", time.Minute); owner != "scene-2" {
		t.Fatalf("lapsed claim not taken: %q", owner)
	}
	if err := s.Release(ctx, "city", "scene-2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Owner(ctx, "city"); gamemesh.CodeOf(err) != gamemesh.CodeNotFound {
		t.Fatalf("released claim: %v", err)
	}
	_ = srv.Client.Close()
	if _, err := s.Claim(ctx, "city", "scene-1", time.Second); gamemesh.CodeOf(err) != gamemesh.CodeUnavailable {
		t.Fatalf("redis gone: %v", err)
	}
}
