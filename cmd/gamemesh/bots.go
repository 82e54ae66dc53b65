package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gamemesh/gamemesh/bots"
	"github.com/gamemesh/gamemesh/functions/idip"
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
	idipURL := fs.String("idip", "", "base `URL` of the IDIP API: an operator calls notice, mail all, grant and online during the run (idip.* routes)")
	idipToken := fs.String("idip-token", "", "IDIP admin token (default $"+idip.TokenEnv+")")
	idipEvery := fs.Duration("idip-every", bots.DefaultOperatorEvery, "interval between two IDIP commands of the operator")
	noScene := fs.Bool("no-scene", false, "no realtime play (a backend without scene hosts)")
	moves := fs.Float64("moves", 5, "realtime actions (move, cast, pickup) per player per second")
	dungeonEvery := fs.Duration("dungeon-every", time.Minute, "mean interval between dungeon entries of a player (negative: never)")
	stagger := fs.Duration("stagger", 0, "spread of the first logins: player i starts at i×stagger/n (default 10 ms per player, at most 2 s)")
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
	if *idipToken == "" {
		*idipToken = os.Getenv(idip.TokenEnv)
	}
	rep, err := bots.Run(ctx, bots.Config{Players: *n, Duration: *d, Addr: *addr, HTTP: *httpBase, MailEvery: *every, Prefix: *prefix, Stagger: *stagger,
		IDIP: *idipURL, IDIPToken: *idipToken, OperatorEvery: *idipEvery,
		Scene: bots.SceneMix{Off: *noScene, MovesPerSec: *moves, DungeonEvery: *dungeonEvery}}, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\n", rep.JSON())
	if rep.Errors > 0 {
		return errors.New("some logins or calls failed (see \"errors\" in the report)")
	}
	return nil
}
