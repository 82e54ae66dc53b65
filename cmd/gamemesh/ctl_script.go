package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/embedded"
	"github.com/gamemesh/gamemesh/functions/idip"
	"github.com/gamemesh/gamemesh/internal/system"
	"github.com/gamemesh/gamemesh/luavm"
)

// scriptOps is what ctl script needs of a cluster's scripts: the admin
// endpoint of a running `up`, or the data directory itself when none runs.
type scriptOps interface {
	Push(ctx context.Context, b *luavm.Bundle, by string) (luavm.Generation, error)
	History(ctx context.Context, module string) (luavm.History, error)
	Rollback(ctx context.Context, module string, number int, by string) (luavm.Generation, error)
	Modules(ctx context.Context) ([]string, error)
}

// isCtlScript reports whether a ctl command line is a "script" command.
func isCtlScript(args []string) bool {
	fs, _ := scriptFlagSet(io.Discard)
	_, pos := splitCtlArgs(fs, args)
	return len(pos) > 0 && pos[0] == "script"
}

type scriptOpts struct {
	data, redis, by, level string
	timeout                time.Duration
	idip                   idipOpts
}

func scriptFlagSet(stderr io.Writer) (*flag.FlagSet, *scriptOpts) {
	o := &scriptOpts{}
	fs := flag.NewFlagSet("ctl script", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.data, "data", "gamemesh-data", "data `DIR` of \"gamemesh up\" (embedded mode)")
	fs.StringVar(&o.redis, "redis", "", "Dapr mode: not supported by ctl script; use --idip (the IDIP API publishes the bundle)")
	addIDIPFlags(fs, &o.idip)
	fs.StringVar(&o.by, "by", defaultBy(), "who pushes or rolls back, recorded in the history")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "deadline of the whole command")
	fs.StringVar(&o.level, "log-level", "warn", "log level: debug, info, warn, error")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: gamemesh ctl script push FILE...|DIR | list [MODULE] | rollback MODULE [GEN]  [flags]")
		fmt.Fprintln(stderr, "Embedded mode: --data (the running up, or its files). Dapr mode: --idip URL (token from $"+idip.TokenEnv+").")
		fs.PrintDefaults()
	}
	return fs, o
}

func defaultBy() string {
	user := os.Getenv("USER")
	if user == "" {
		user = "ctl"
	}
	if h, err := os.Hostname(); err == nil {
		return user + "@" + h
	}
	return user
}

// runCtlScript runs `gamemesh ctl script VERB ...`. Bad arguments exit 2; a
// bundle that does not compile or fails its checks is refused with the
// reason (exit 1) and nothing is written.
func runCtlScript(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, o := scriptFlagSet(stderr)
	flags, pos := splitCtlArgs(fs, args)
	if err := parse(fs, flags); err != nil {
		return err
	}
	pos = pos[1:] // "script"
	o.idip.data = o.data
	byGiven := false
	fs.Visit(func(f *flag.Flag) { byGiven = byGiven || f.Name == "by" })
	if !byGiven {
		o.by = o.idip.operator // --operator names who pushes too
	}
	if err := checkScriptArgs(pos, o); err != nil {
		fmt.Fprintf(stderr, "gamemesh ctl script: %v\n", err)
		fs.Usage()
		return errUsage
	}
	log, err := newLogger(stderr, o.level)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	switch pos[0] {
	case "push":
		err = scriptPush(ctx, o, pos[1:], stdout, log)
	case "list":
		err = o.withOps(ctx, log, func(ops scriptOps) error { return scriptList(ctx, ops, pos[1:], stdout) })
	case "rollback":
		number := 0
		if len(pos) == 3 {
			number, _ = strconv.Atoi(pos[2])
		}
		err = o.withOps(ctx, log, func(ops scriptOps) error {
			gen, err := ops.Rollback(ctx, pos[1], number, o.by)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(stdout, "%s: rolled back to generation %d, hash %s\n", gen.Module, gen.Number, gen.Hash)
			return err
		})
	}
	if err != nil {
		return &scriptCmdError{err: err}
	}
	return nil
}

// scriptCmdError prints an operator-readable message (the *gamemesh.Error's
// message, e.g. the compile error) and keeps the cause for errors.Is.
type scriptCmdError struct{ err error }

func (e *scriptCmdError) Error() string {
	var ge *gamemesh.Error
	if errors.As(e.err, &ge) && ge.Message != "" {
		return ge.Message
	}
	return e.err.Error()
}

func (e *scriptCmdError) Unwrap() error { return e.err }

// checkScriptArgs refuses bad arguments before anything is opened.
func checkScriptArgs(pos []string, o *scriptOpts) error {
	if o.redis != "" {
		return errors.New("ctl script does not write Redis (--redis): in Dapr mode use --idip URL, the IDIP API publishes the bundle")
	}
	if o.timeout <= 0 {
		return fmt.Errorf("--timeout %v must be positive", o.timeout)
	}
	if len(pos) == 0 {
		return errors.New("want push, list or rollback")
	}
	rest := pos[1:]
	switch pos[0] {
	case "push":
		if len(rest) == 0 {
			return errors.New("push takes FILE... or DIR")
		}
	case "list":
		if len(rest) > 1 {
			return fmt.Errorf("list takes at most one MODULE, got %q", rest)
		}
	case "rollback":
		if len(rest) < 1 || len(rest) > 2 {
			return fmt.Errorf("rollback takes MODULE [GEN], got %q", rest)
		}
		if len(rest) == 2 {
			if n, err := strconv.Atoi(rest[1]); err != nil || n <= 0 {
				return fmt.Errorf("generation %q must be a positive number", rest[1])
			}
		}
	default:
		return fmt.Errorf("unknown script command %q", pos[0])
	}
	if pos[0] != "push" && len(rest) > 0 && !gamemesh.ValidKeyPart(rest[0]) {
		return fmt.Errorf("bad module name %q: 2-64 characters of [a-z0-9_-]", rest[0])
	}
	return nil
}

// scriptPush loads and checks the bundle locally (compile, required exports,
// self_test on a 1-worker pool), then publishes it.
func scriptPush(ctx context.Context, o *scriptOpts, paths []string, out io.Writer, log *slog.Logger) error {
	var b *luavm.Bundle
	var err error
	if st, serr := os.Stat(paths[0]); len(paths) == 1 && serr == nil && st.IsDir() {
		b, err = luavm.LoadModule(paths[0])
	} else {
		b, err = luavm.LoadFiles(paths...)
	}
	if err != nil {
		return err
	}
	if err := checkBundle(ctx, b, log); err != nil {
		return gamemesh.Wrap(gamemesh.CodeInvalidArgument, err, "push refused: "+gamemesh.MessageOf(err))
	}
	return o.withOps(ctx, log, func(ops scriptOps) error {
		gen, err := ops.Push(ctx, b, o.by)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "%s: generation %d, hash %s\n", gen.Module, gen.Number, gen.Hash)
		return err
	})
}

func checkBundle(ctx context.Context, b *luavm.Bundle, log *slog.Logger) error {
	pool, err := luavm.New(luavm.Options{Logger: log, Limits: luavm.Limits{Workers: 1}, Required: luavm.RequiredExports})
	if err != nil {
		return err
	}
	defer func() { _ = pool.Close() }()
	if err := pool.Start(); err != nil {
		return err
	}
	return pool.Check(ctx, b)
}

// scriptList prints the history of one module or of every known module.
func scriptList(ctx context.Context, ops scriptOps, args []string, out io.Writer) error {
	modules := args
	if len(modules) == 0 {
		var err error
		if modules, err = ops.Modules(ctx); err != nil {
			return err
		}
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MODULE\tGEN\tHASH\tCREATED\tBY\tSOURCE\tACTIVE")
	for _, m := range modules {
		h, err := ops.History(ctx, m)
		if err != nil {
			return err
		}
		if len(h.Generations) == 0 {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t\n", m)
		}
		for _, g := range slices.Backward(h.Generations) {
			mark := ""
			if g.Hash == h.Active {
				mark = "*"
			}
			fmt.Fprintf(tw, "%s\t%d\t%.12s\t%s\t%s\t%s\t%s\n", m, g.Number, g.Hash, g.CreatedAt.Format(time.RFC3339), g.By, g.Source, mark)
		}
	}
	return tw.Flush()
}

// withOps runs fn through the IDIP API — the one given with --idip, or the
// one of the `up` running on the data directory — and else, when no node
// runs there, against the data directory's files.
func (o *scriptOpts) withOps(ctx context.Context, log *slog.Logger, fn func(scriptOps) error) error {
	api, err := o.idip.resolve(ctx)
	if err != nil {
		return err
	}
	if api.url != "" {
		cli, err := api.client()
		if err != nil {
			return err
		}
		return fn(&idipScriptOps{opts: api, cli: cli})
	}
	ops, closeOps, err := openScriptData(ctx, o.data, log)
	if err != nil {
		return err
	}
	err = fn(ops)
	if cerr := closeOps(); cerr != nil && err == nil {
		err = cerr
	}
	return err
}

// dataOps publishes straight into a data directory no `up` is running on:
// its bbolt file and its config file (written under ctl's lock).
type dataOps struct {
	*luavm.Publisher
	cfg *fileStore
}

func openScriptData(ctx context.Context, dataDir string, log *slog.Logger) (*dataOps, func() error, error) {
	cfg, err := openFileStore(dataDir, log)
	if err != nil {
		return nil, nil, err
	}
	db, err := embedded.Open(system.DBPath(dataDir), embedded.Options{Logger: log})
	if err != nil {
		_ = cfg.Close()
		return nil, nil, fmt.Errorf("opening %s (is a gamemesh up running on it with its IDIP API switched off? start it with --idip to patch it live): %w", system.DBPath(dataDir), err)
	}
	ops := &dataOps{cfg: cfg}
	ops.Publisher = luavm.NewPublisher(db.Store(), ctlConfigStore{ctx: ctx, st: cfg}, nil, log)
	return ops, func() error { return errors.Join(db.Close(), cfg.Close()) }, nil
}

func (d *dataOps) Push(ctx context.Context, b *luavm.Bundle, by string) (luavm.Generation, error) {
	return d.Publisher.Push(ctx, b, by, "ctl push")
}

func (d *dataOps) Modules(ctx context.Context) ([]string, error) {
	items, err := d.cfg.Prefixed(ctx, luavm.ConfigKey(""))
	if err != nil {
		return nil, err
	}
	var mods []string
	for k := range items {
		mods = append(mods, strings.TrimPrefix(k, luavm.ConfigKey("")))
	}
	for m := range luavm.RequiredExports {
		if !slices.Contains(mods, m) {
			mods = append(mods, m)
		}
	}
	slices.Sort(mods)
	return mods, nil
}

// ctlConfigStore adapts ctl's locked config writer to luavm.ConfigStore,
// whose Set has no context: it carries the command's.
type ctlConfigStore struct {
	ctx context.Context
	st  *fileStore
}

func (c ctlConfigStore) Get(ctx context.Context, keys []string) (map[string]gamemesh.ConfigItem, error) {
	return c.st.Get(ctx, keys)
}

func (c ctlConfigStore) Set(key, value string) (string, error) { return c.st.Set(c.ctx, key, value) }
