package redisconfig_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/internal/redistest"
	"github.com/gamemesh/gamemesh/redisconfig"
)

func TestSetGetPrefixed(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	s, err := redisconfig.Open(ctx, srv.Addr, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.Set(ctx, "feature.guild", "off"); err != nil || v != "1" {
		t.Fatalf("Set = %q, %v; want version 1", v, err)
	}
	if v, err := s.Set(ctx, "feature.guild", "on"); err != nil || v != "2" {
		t.Fatalf("Set = %q, %v; want version 2", v, err)
	}
	if raw := srv.Client.Get(ctx, "feature.guild").Val(); raw != "on||2" {
		t.Fatalf("raw value %q, want on||2", raw)
	}
	srv.Client.Set(ctx, "feature.pvp", "off", 0) // written by hand, no version
	srv.Client.Set(ctx, "setting.gate.max_online", "5||7", 0)
	got, err := s.Get(ctx, []string{"feature.guild", "feature.pvp", "feature.missing"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]gamemesh.ConfigItem{"feature.guild": {Value: "on", Version: "2"}, "feature.pvp": {Value: "off", Version: "0"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Get = %v, want %v", got, want)
	}
	pre, err := s.Prefixed(ctx, "feature.")
	if err != nil || len(pre) != 2 {
		t.Fatalf("Prefixed = %v, %v; want the two feature keys", pre, err)
	}
	if v, _ := s.Set(ctx, "feature.pvp", "on"); v != "1" {
		t.Fatalf("version after an unversioned value = %q, want 1", v)
	}
}

func TestSetRefusesBadInputAndChangesNothing(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	s, err := redisconfig.Open(ctx, srv.Addr, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, kv := range [][2]string{{"", "on"}, {"feature.guild", "on||9"}} {
		if _, err := s.Set(ctx, kv[0], kv[1]); gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
			t.Errorf("Set(%q, %q) = %v, want INVALID_ARGUMENT", kv[0], kv[1], err)
		}
	}
	if n := srv.Client.DBSize(ctx).Val(); n != 0 {
		t.Fatalf("refused writes left %d keys", n)
	}
}

func TestConcurrentSetsGetDistinctVersions(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	s, err := redisconfig.Open(ctx, srv.Addr, "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 50
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := s.Set(ctx, "feature.guild", "off")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			seen[v] = true
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("%d distinct versions from %d writers", len(seen), n)
	}
}

func TestOpenUnreachable(t *testing.T) {
	_, err := redisconfig.Open(context.Background(), "127.0.0.1:1", "")
	if gamemesh.CodeOf(err) != gamemesh.CodeUnavailable {
		t.Fatalf("Open of a closed port = %v, want UNAVAILABLE", err)
	}
}
