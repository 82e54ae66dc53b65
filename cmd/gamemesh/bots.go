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
	stagger := fs.Duration("stagger", 0, "spread of the first logins: player i starts at i×stagger/n (default 10 ms per player, at most 2 s)")
	level := fs.String("log-level", "warn", "log level: debug, info, warn, error")
	if err := parse(fs, args); err != nil {
		return err
	}
	log, err := newLogger(stderr, *level)
	if err != nil {
		return err
	}
	rep, err := bots.Run(ctx, bots.Config{Players: *n, Duration: *d, Addr: *addr, HTTP: *httpBase, MailEvery: *every, Prefix: *prefix, Stagger: *stagger}, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s\n", rep.JSON())
	if rep.Errors > 0 {
		return errors.New("some logins or calls failed (see \"errors\" in the report)")
	}
	return nil
}
