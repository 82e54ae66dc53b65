// Command gamemesh is the one gamemesh binary:
//
//	gamemesh up      the whole backend in one process on embedded storage
//	gamemesh bots    simulated players against a running backend
//	gamemesh fn      function apps as a Dapr app (Dapr mode)
//	gamemesh gate    a gate calling functions through Dapr (Dapr mode)
//	gamemesh scene   a scene host joining a Dapr cluster (Dapr mode)
//	gamemesh probe   exit 0 when health URLs answer 2xx (container health checks)
//
// Run "gamemesh help" for the list and "gamemesh CMD -h" for a command's flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand of the binary.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"up", "run gate + all functions in one process on embedded storage", runUp},
		{"bots", "drive simulated players against a running backend; prints one JSON line", runBots},
		{"fn", "serve function apps (login, mail, player, guild, achievement; idip when named) as one Dapr app behind its sidecar", runFn},
		{"gate", "run a gate whose function calls go through its Dapr sidecar", runGate},
		{"scene", "run a scene host joining a Dapr cluster (gates link to it directly over gRPC)", runScene},
		{"ctl", "switch features, change settings, push Lua, run IDIP commands (data dir, Redis or --idip)", runCtl},
		{"probe", "check that URLs answer 2xx (container health checks)", runProbe},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], stdout, stderr)
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				return 2
			}
			fmt.Fprintf(stderr, "gamemesh %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "gamemesh: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

var errUsage = errors.New("usage")

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: gamemesh COMMAND [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
}

// newLogger returns the process logger: text on stderr, at the given level.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// parse parses a subcommand's flags, turning parse errors into errUsage.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected arguments: %v\n", fs.Args())
		return errUsage
	}
	return nil
}
