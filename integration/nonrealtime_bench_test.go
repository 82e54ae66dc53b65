//go:build integration

package integration

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// benchCallers is the number of concurrent callers of the Dapr benchmarks.
const benchCallers = 16

// BenchmarkDaprClaimsAndJoins measures claims/s and guild joins/s with
// their latency through two sidecars and Redis (the gate's path), with
// benchCallers concurrent callers, and a baseline in the same run:
//
//   - baseline: mail.list of an empty box (one Redis read behind two sidecars);
//
//   - claim: claim one mail (each op another player's box);
//
//   - claimAll: claim all of a box holding 5 mails;
//
//   - join: apply to an open guild (reserve, claim, commit: 3 writes + reads),
//     the joins spread over guilds of cap 50.
//
//     flock /tmp/gamemesh-integration.lock go test -tags integration -run '^$' -bench DaprClaimsAndJoins -benchtime 400x ./integration/
func BenchmarkDaprClaimsAndJoins(b *testing.B) {
	m := startMesh(b)
	ctx := context.Background()
	b.Run("baseline", func(b *testing.B) {
		ps := m.fakePlayers(b.N)
		daprTimed(b, func(i int) error {
			return m.call(ctx, ps[i], "", "mail", "list", &gamev1.ListMailRequest{}, &gamev1.ListMailResponse{})
		})
	})
	b.Run("claim", func(b *testing.B) {
		ps := m.players(b, b.N)
		ids := make([]string, b.N)
		for i := range ids {
			ids[i] = m.gift(b, ps[i], "gold", 1)
		}
		daprTimed(b, func(i int) error {
			return m.call(ctx, ps[i], "", "mail", "claim", &gamev1.ClaimMailRequest{MailId: ids[i]}, &gamev1.ClaimMailResponse{})
		})
	})
	b.Run("claimAll", func(b *testing.B) {
		ps := m.players(b, b.N)
		for _, p := range ps {
			for range 5 {
				m.gift(b, p, "gem", 1)
			}
		}
		daprTimed(b, func(i int) error {
			var out gamev1.ClaimAllMailResponse
			if err := m.call(ctx, ps[i], "", "mail", "claimAll", &gamev1.ClaimAllMailRequest{}, &out); err != nil {
				return err
			}
			if len(out.MailIds) != 5 {
				return fmt.Errorf("claimed %d mails, want 5", len(out.MailIds))
			}
			return nil
		})
	})
	b.Run("join", func(b *testing.B) {
		const per = 49
		leaders := m.players(b, (b.N+per-1)/per)
		guilds := make([]string, len(leaders))
		for i, l := range leaders {
			var g gamev1.GuildResponse
			must(b, "guild.create", m.call(ctx, l, "", "guild", "create", &gamev1.CreateGuildRequest{Name: fmt.Sprintf("B%s %d", gamemesh.NewID()[:5], i), Open: true}, &g))
			guilds[i] = g.Guild.Id
		}
		ps := m.players(b, b.N)
		daprTimed(b, func(i int) error {
			var out gamev1.GuildResponse
			if err := m.call(ctx, ps[i], "", "guild", "apply", &gamev1.GuildRequest{GuildId: guilds[i%len(guilds)]}, &out); err != nil {
				return err
			}
			if !out.Joined {
				return fmt.Errorf("not joined")
			}
			return nil
		})
	})
}

// fakePlayers returns n player ids that need no account (for reads).
func (m *mesh) fakePlayers(n int) []gamemesh.PlayerID {
	out := make([]gamemesh.PlayerID, n)
	for i := range out {
		out[i] = gamemesh.NewPlayerID()
	}
	return out
}

// daprTimed runs op b.N times over benchCallers goroutines and reports
// ops/s, p50 and p99, and the share of ops that failed in transport.
func daprTimed(b *testing.B, op func(i int) error) {
	b.Helper()
	lat := make([]time.Duration, b.N)
	var next, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range min(benchCallers, b.N) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= b.N {
					return
				}
				t0 := time.Now()
				err := op(i)
				lat[i] = time.Since(t0)
				if err != nil {
					failed.Add(1)
					if !retryable(gamemesh.CodeOf(err)) {
						firstErr.CompareAndSwap(nil, err)
					}
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err, _ := firstErr.Load().(error); err != nil {
		b.Fatalf("op failed: %v", err)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(failed.Load())/float64(b.N)*100, "failed-%")
}
