package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gamemesh/gamemesh/bots"
)

// scaleFlags are the flags of the scale scenarios of `gamemesh bots`.
type scaleFlags struct {
	scenario, sourceIPs, metrics, shard string
	window                              time.Duration
	procs                               int
}

// runScale runs a hold, storm or resume scenario; with --procs N it runs N
// copies of itself, each with a shard of the bots (a process may open at
// most 20 000 files here), and prints their merged report.
func runScale(ctx context.Context, f scaleFlags, n int, d time.Duration, addrs, https, prefix string,
	args []string, stdout, stderr io.Writer, log *slog.Logger) error {
	ips, err := bots.ParseIPRange(f.sourceIPs)
	if err != nil {
		return err
	}
	cfg := bots.ScaleConfig{Scenario: f.scenario, Players: n, Duration: d, Window: f.window,
		Gates: splitList(addrs), HTTP: splitList(https), SourceIPs: ips, Metrics: splitList(f.metrics), Prefix: prefix}
	if cfg.Prefix == "" {
		cfg.Prefix = fmt.Sprintf("scale-%d", time.Now().UnixNano()%1e9) // shared by every shard
	}
	if f.shard != "" {
		i, of, ok := strings.Cut(f.shard, "/")
		si, e1 := strconv.Atoi(i)
		so, e2 := strconv.Atoi(of)
		if !ok || e1 != nil || e2 != nil {
			return fmt.Errorf("--shard %q: want i/n", f.shard)
		}
		cfg.Shard, cfg.Samples = &bots.Shard{Index: si, Of: so}, true
		if si != 0 {
			cfg.Metrics = nil // the first shard measures the gates
		}
	}
	if f.procs > 1 && f.shard == "" {
		return runShards(ctx, f.procs, cfg.Prefix, args, stdout, stderr)
	}
	rep, err := bots.RunScale(ctx, cfg, log)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(rep)
	fmt.Fprintf(stdout, "%s\n", b)
	if rep.Errors > 0 {
		return fmt.Errorf("%d failures (see \"errors\" in the report)", rep.Errors)
	}
	return nil
}

// runShards runs procs copies of this command with --shard i/procs and
// prints one merged report.
func runShards(ctx context.Context, procs int, prefix string, args []string, stdout, stderr io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	parts := make([]bots.ScaleReport, procs)
	errs := make([]error, procs)
	var wg sync.WaitGroup
	for i := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sub := append([]string{"bots"}, args...)
			sub = append(sub, "--shard", fmt.Sprintf("%d/%d", i, procs), "--prefix", prefix, "--procs", "1")
			cmd := exec.CommandContext(ctx, exe, sub...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, stderr
			runErr := cmd.Run()
			sc := bufio.NewScanner(&out)
			sc.Buffer(make([]byte, 1<<20), 64<<20)
			for sc.Scan() {
				if json.Unmarshal(sc.Bytes(), &parts[i]) == nil {
					break
				}
			}
			if parts[i].Scenario == "" {
				errs[i] = fmt.Errorf("shard %d: no report (%v)", i, runErr)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	rep := bots.MergeScale(parts)
	b, _ := json.Marshal(rep)
	fmt.Fprintf(stdout, "%s\n", b)
	if rep.Errors > 0 {
		return fmt.Errorf("%d failures (see \"errors\" in the report)", rep.Errors)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
