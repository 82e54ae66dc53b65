package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/redisconfig"
)

// ctlAction is one "ctl GROUP VERB" command: its positional arguments are
// checked (nargs, then check, before any store is opened) and then it runs
// against the configuration store.
type ctlAction struct {
	group, verb, args string
	nargs             int
	check             func(args []string) error
	run               func(ctx context.Context, st ctlStore, args []string, out io.Writer) error
}

func ctlActions() []ctlAction {
	return []ctlAction{
		{"feature", "list", "", 0, nil, featureList},
		{"feature", "on", "ID", 1, checkSystem, featureSwitch(true)},
		{"feature", "off", "ID", 1, checkSystem, featureSwitch(false)},
		{"setting", "list", "", 0, nil, settingList},
		{"setting", "get", "NAME", 1, checkSettingName, settingGet},
		{"setting", "set", "NAME VALUE", 2, checkSettingValue, settingSet},
	}
}

// runCtl reads and writes the live configuration (feature switches and
// settings) of a running or stopped backend: the watched config file of a
// data directory (embedded mode) or the Redis configuration store (Dapr mode).
// Bad input is refused before anything is opened, with exit status 2.
func runCtl(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if isCtlScript(args) {
		return runCtlScript(ctx, args, stdout, stderr)
	}
	if isCtlIDIP(args) {
		return runCtlIDIP(ctx, args, stdout, stderr)
	}
	fs := flag.NewFlagSet("ctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data", "gamemesh-data", "data `DIR` of \"gamemesh up\" whose config.json to read and write (embedded mode)")
	redisAddr := fs.String("redis", "", "`host:port` of the Redis behind the Dapr configuration store (Dapr mode; password from $REDIS_PASSWORD)")
	timeout := fs.Duration("timeout", 15*time.Second, "deadline of the whole command")
	wait := fs.Duration("wait", 10*time.Second, "with --redis, how long a write waits for every running process to report it (0: do not wait)")
	level := fs.String("log-level", "warn", "log level: debug, info, warn, error")
	var iopts idipOpts
	addIDIPFlags(fs, &iopts)
	fs.Usage = func() { ctlUsage(fs) }
	flags, pos := splitCtlArgs(fs, args)
	if err := parse(fs, flags); err != nil {
		return err
	}
	explicit := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })
	if explicit["data"] && explicit["redis"] {
		fmt.Fprintln(stderr, "gamemesh ctl: use --data (embedded mode) or --redis (Dapr mode), not both")
		return errUsage
	}
	if explicit["idip"] && explicit["redis"] {
		fmt.Fprintln(stderr, "gamemesh ctl: use --idip (the IDIP API) or --redis (Dapr mode, direct), not both")
		return errUsage
	}
	iopts.data = *dataDir
	if *timeout <= 0 || *wait < 0 {
		fmt.Fprintf(stderr, "gamemesh ctl: --timeout %v must be positive and --wait %v not negative\n", *timeout, *wait)
		return errUsage
	}
	act, err := findCtlAction(pos)
	if err != nil {
		fmt.Fprintf(stderr, "gamemesh ctl: %v\n\n", err)
		ctlUsage(fs)
		return errUsage
	}
	cmdArgs := pos[2:]
	if act.check != nil {
		if err := act.check(cmdArgs); err != nil {
			return ctlRefuse(stderr, err)
		}
	}
	log, err := newLogger(stderr, *level)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	st, err := openCtlStore(ctx, *redisAddr, *dataDir, *wait, iopts, log)
	if err != nil {
		return err
	}
	err = act.run(ctx, st, cmdArgs, stdout)
	if cerr := st.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if gamemesh.CodeOf(err) == gamemesh.CodeInvalidArgument {
		return ctlRefuse(stderr, err)
	}
	return err
}

// openCtlStore opens the Redis at redisAddr (waiting up to wait for every
// process to report a write), or the IDIP API — the one given with --idip,
// or the one of the `up` running on dataDir — or else, when no node runs
// there, the config file of dataDir.
func openCtlStore(ctx context.Context, redisAddr, dataDir string, wait time.Duration, o idipOpts, log *slog.Logger) (ctlStore, error) {
	if redisAddr == "" {
		api, err := o.resolve(ctx)
		if err != nil {
			return nil, err
		}
		if api.url != "" {
			return openIDIPStore(api)
		}
	}
	if redisAddr != "" {
		s, err := redisconfig.Open(ctx, redisAddr, os.Getenv("REDIS_PASSWORD"))
		if err != nil {
			return nil, err
		}
		return newRedisCtlStore(s, wait), nil
	}
	s, err := openFileStore(dataDir, log)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// ctlRefuse reports bad input on stderr and makes it exit with status 2.
func ctlRefuse(stderr io.Writer, err error) error {
	fmt.Fprintf(stderr, "gamemesh ctl: %s\n", gamemesh.MessageOf(err))
	return errUsage
}

// findCtlAction returns the action named by pos[0] and pos[1] after checking
// the number of its arguments.
func findCtlAction(pos []string) (ctlAction, error) {
	if len(pos) < 2 {
		return ctlAction{}, errors.New("want GROUP VERB, e.g. \"feature list\"")
	}
	for _, a := range ctlActions() {
		if a.group != pos[0] || a.verb != pos[1] {
			continue
		}
		if got := len(pos) - 2; got != a.nargs {
			want := "no arguments"
			if a.nargs > 0 {
				want = a.args
			}
			return ctlAction{}, fmt.Errorf("%s %s takes %s, got %d argument(s): %q", a.group, a.verb, want, got, pos[2:])
		}
		return a, nil
	}
	return ctlAction{}, fmt.Errorf("unknown command %q", strings.Join(pos[:2], " "))
}

func ctlUsage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprintln(w, "usage: gamemesh ctl [flags] GROUP VERB [ARGS]")
	fmt.Fprintln(w, "\ncommands:")
	for _, a := range ctlActions() {
		fmt.Fprintf(w, "  %s\n", strings.TrimSpace(a.group+" "+a.verb+" "+a.args))
	}
	fmt.Fprintln(w, "  script push FILE...|DIR | script list [MODULE] | script rollback MODULE [GEN]   (ctl script -h)")
	fmt.Fprintln(w, "  idip COMMAND [name=value ...]   ban, kick, mute, mail, grant, notice, online, player, audit... (ctl idip -h)")
	fmt.Fprintln(w, "\nflags (before or after the command):")
	fs.PrintDefaults()
}

// splitCtlArgs separates flags (with their values) from positional
// arguments, so flags may come before or after the command ("ctl feature off
// guild --data d"). A negative number is positional ("setting set x -1"),
// and everything after "--" is.
func splitCtlArgs(fs *flag.FlagSet, args []string) (flags, pos []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return flags, append(pos, args[i+1:]...)
		}
		if len(a) < 2 || a[0] != '-' || isNumber(a) {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil { // fs.Parse reports it
			continue
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	return flags, pos
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}
