package mail_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions/mail"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// benchWorkers is the number of concurrent callers of the benchmarks.
const benchWorkers = 32

// BenchmarkClaims measures claims per second and their latency on the
// embedded adapters (bbolt store, in-process invoker), with benchWorkers
// concurrent callers, against a baseline in the same run:
//
//   - baseline: one ETag read-modify-write of a fresh key (Get + create-only
//     Set) on the same store: the cost floor of one write;
//   - claim: claim one mail (one ETag read-modify-write of the box), each op
//     another player's box;
//   - claimAll: claim all five mails of a box in one write;
//   - broadcast-first-read: the first list after a broadcast (the delivery
//     write), each op another player.
//
// Run: go test -run '^$' -bench Claims -benchtime 2000x ./functions/mail/
func BenchmarkClaims(b *testing.B) {
	for _, mode := range []string{"baseline", "claim", "claimAll", "broadcast-first-read"} {
		b.Run(mode, func(b *testing.B) {
			e := newEmbeddedEnv(b, mail.Config{})
			ctx := context.Background()
			players := make([]gamemesh.PlayerID, b.N)
			ids := make([]string, b.N)
			for i := range players {
				players[i] = e.newPlayer(b)
				n := 1
				if mode == "claimAll" {
					n = 5
				}
				if mode == "claim" || mode == "claimAll" {
					for range n {
						ids[i] = e.gift(b, players[i], "gold", 1)
					}
				}
			}
			if mode == "broadcast-first-read" {
				if _, err := e.broadcast(ctx, &gamev1.BroadcastMailRequest{Subject: "bench", Attachments: gold(1), RequestId: "bench-broadcast"}); err != nil {
					b.Fatal(err)
				}
			}
			var n atomic.Int64
			benchTimed(b, func(ctx context.Context, i int) error {
				switch mode {
				case "baseline":
					key := fmt.Sprintf("bench/%d", n.Add(1))
					if _, err := e.store.Get(ctx, key); err == nil {
						return fmt.Errorf("key %s exists", key)
					}
					return e.store.Set(ctx, key, []byte(`{"next_seq":1}`), gamemesh.SetOptions{})
				case "claim":
					_, err := e.claim(ctx, players[i], "", ids[i])
					return err
				case "claimAll":
					out, err := e.claimAll(ctx, players[i], "")
					if err == nil && len(out.MailIds) != 5 {
						err = fmt.Errorf("claimed %d", len(out.MailIds))
					}
					return err
				default:
					out, err := e.list(ctx, players[i], "", 0)
					if err == nil && len(out.Mails) != 1 {
						err = fmt.Errorf("listed %d", len(out.Mails))
					}
					return err
				}
			})
		})
	}
}

// benchTimed runs op b.N times over benchWorkers goroutines and reports
// ops/s and the p50 and p99 latency of one op.
func benchTimed(b *testing.B, op func(ctx context.Context, i int) error) {
	b.Helper()
	lat := make([]time.Duration, b.N)
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range min(benchWorkers, b.N) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= b.N {
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				t0 := time.Now()
				err := op(ctx, i)
				lat[i] = time.Since(t0)
				cancel()
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err := firstErr.Load(); err != nil {
		b.Fatalf("op failed: %v", err)
	}
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds())/1000, "p99-ms")
}
