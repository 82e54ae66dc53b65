package guild_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/embedded"
	"github.com/gamemesh/gamemesh/functions"
	"github.com/gamemesh/gamemesh/functions/guild"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// benchWorkers is the number of concurrent callers in the join benchmarks.
const benchWorkers = 32

// BenchmarkJoin measures guild joins per second and their latency on the
// embedded adapters (bbolt store, in-process invoker), with benchWorkers
// concurrent callers:
//
//   - baseline: one ETag read-modify-write of a fresh key per op (Get +
//     create-only Set) through the same store — the cost floor of one write;
//   - open/spread: apply to an open guild (reserve, claim, commit), the
//     joins spread over many guilds of cap 50;
//   - open/hot: the same, but consecutive joins fill one guild at a time,
//     so the callers contend on one guild record;
//   - approve/spread: an officer approves an application made beforehand.
//
// Run: go test -run '^$' -bench Join -benchtime 2000x ./functions/guild/
func BenchmarkJoin(b *testing.B) {
	b.Run("baseline", func(b *testing.B) {
		db, _ := openBenchDB(b)
		st := db.Store()
		var n atomic.Int64
		runTimed(b, func(ctx context.Context, i int) error {
			key := fmt.Sprintf("bench/%d", n.Add(1))
			if _, err := st.Get(ctx, key); err == nil {
				return fmt.Errorf("key %s exists", key)
			}
			return st.Set(ctx, key, []byte(`{"guild":"g","token":"t"}`), gamemesh.SetOptions{})
		})
	})
	for _, mode := range []string{"open/spread", "open/hot", "approve/spread"} {
		b.Run(mode, func(b *testing.B) {
			_, be := openBenchDB(b)
			ctx := context.Background()
			open := mode != "approve/spread"
			per := guild.DefaultMemberCap - 1
			guilds := make([]string, (b.N+per-1)/per)
			leaders := make([]gamemesh.PlayerID, len(guilds))
			for i := range guilds {
				leaders[i] = gamemesh.NewPlayerID()
				out, err := be.do(ctx, leaders[i], "create", &gamev1.CreateGuildRequest{Name: fmt.Sprintf("bench %d", i), Open: open})
				if err != nil {
					b.Fatal(err)
				}
				guilds[i] = out.Guild.Id
			}
			pick := func(i int) int {
				if mode == "open/hot" {
					return i / per
				}
				return i % len(guilds)
			}
			players := make([]gamemesh.PlayerID, b.N)
			for i := range players {
				players[i] = gamemesh.NewPlayerID()
				if !open {
					if _, err := be.do(ctx, players[i], "apply", &gamev1.GuildRequest{GuildId: guilds[pick(i)]}); err != nil {
						b.Fatal(err)
					}
				}
			}
			runTimed(b, func(ctx context.Context, i int) error {
				g := pick(i)
				if open {
					_, err := be.do(ctx, players[i], "apply", &gamev1.GuildRequest{GuildId: guilds[g]})
					return err
				}
				_, err := be.do(ctx, leaders[g], "approve", &gamev1.GuildTargetRequest{GuildId: guilds[g], PlayerId: string(players[i])})
				return err
			})
		})
	}
}

// openBenchDB opens an embedded DB and a guild app on it, called through
// the embedded invoker.
func openBenchDB(b *testing.B) (*embedded.DB, *env) {
	b.Helper()
	db, err := embedded.Open(filepath.Join(b.TempDir(), "bench.db"), embedded.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	reg := functions.NewRegistry()
	app, err := guild.New(guild.Config{}, guild.Deps{Store: db.Store()})
	if err != nil {
		b.Fatal(err)
	}
	app.Register(reg)
	return db, &env{reg: reg, inv: embedded.NewInvoker(reg, nil)}
}

// runTimed runs op b.N times over benchWorkers goroutines and reports
// ops/s and the p50 and p99 latency of one op.
func runTimed(b *testing.B, op func(ctx context.Context, i int) error) {
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
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
