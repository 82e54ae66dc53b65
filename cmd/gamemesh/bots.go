package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/gamemesh/gamemesh/bots"
)

// runBots drives simulated players and prints exactly one JSON line on stdout.
// It fails (exit 1) when any call or login failed.
func runBots(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bots", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 10, "number of simulated players")
	d := fs.Duration("d", 10*time.Second, "how long the players play")
	addr := fs.String("addr", "tcp://127.0.0.1:7100", "gate address: tcp://host:port or ws://host:port/ws")
	httpBase := fs.String("http", "http://127.0.0.1:7101", "gate HTTP base for the guest login")
	every := fs.Duration("mail-every", 2*time.Second, "how often each player sends a mail")
	prefix := fs.String("prefix", "", "device id prefix (default: random per run, so every run makes new players)")
	level := fs.String("log-level", "warn", "log level: debug, info, warn, error")
	var sf scaleFlags
	fs.StringVar(&sf.scenario, "scenario", "play", "play (the game), or a scale run: hold, storm, resume (--addr and --http then take comma lists, one per gate)")
	fs.StringVar(&sf.sourceIPs, "source-ips", "", "scale runs: local addresses to connect from, a.b.c.x-a.b.c.y or a comma list (e.g. 127.0.0.2-127.0.0.201)")
	fs.DurationVar(&sf.window, "window", 10*time.Second, "storm: how long the connects are spread over")
	fs.StringVar(&sf.metrics, "metrics", "", "hold: the gates' /metrics URLs (comma list), to report their memory per connection")
	fs.IntVar(&sf.procs, "procs", 1, "scale runs: split the bots over this many processes (one may open at most 20 000 files)")
	fs.StringVar(&sf.shard, "shard", "", "internal: run shard i/n of the bots and report raw samples")
	if err := parse(fs, args); err != nil {
		return err
	}
	log, err := newLogger(stderr, *level)
	if err != nil {
		return err
	}
	if sf.scenario != "play" {
		return runScale(ctx, sf, *n, *d, *addr, *httpBase, *prefix, args, stdout, stderr, log)
	}
	rep, err := bots.Run(ctx, bots.Config{Players: *n, Duration: *d, Addr: *addr, HTTP: *httpBase, MailEvery: *every, Prefix: *prefix}, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\n", rep.JSON())
	if rep.Errors > 0 {
		return errors.New("some logins or calls failed (see \"errors\" in the report)")
	}
	return nil
}
