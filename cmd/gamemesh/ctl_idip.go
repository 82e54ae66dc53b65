package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/feature"
	"github.com/gamemesh/gamemesh/functions/idip"
	"github.com/gamemesh/gamemesh/internal/system"
	"github.com/gamemesh/gamemesh/luavm"
)

// defaultIDIPURL is where `gamemesh up` serves IDIP by default.
const defaultIDIPURL = "http://" + system.DefaultIDIPAddr

// idipOpts are the flags that reach an IDIP API.
type idipOpts struct {
	url, serial, operator, data string
}

// client returns the IDIP client: the token from $GAMEMESH_IDIP_TOKEN, else
// from the data directory of `gamemesh up` (the generated idip.token).
func (o idipOpts) client() (*idip.Client, error) {
	if _, err := url.ParseRequestURI(o.url); err != nil || !strings.HasPrefix(o.url, "http") {
		return nil, fmt.Errorf("--idip %q: want the API's base URL, e.g. %s", o.url, defaultIDIPURL)
	}
	tok := os.Getenv(idip.TokenEnv)
	if tok == "" {
		b, err := os.ReadFile(system.IDIPTokenPath(o.data))
		if err != nil {
			return nil, fmt.Errorf("the IDIP admin token: set $%s (or run from where --data %s holds idip.token)", idip.TokenEnv, o.data)
		}
		tok = strings.TrimSpace(string(b))
	}
	return &idip.Client{URL: o.url, Token: tok, Operator: o.operator,
		HTTP: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}}, nil
}

// resolve returns the options with the IDIP URL to use: the --idip one,
// else the one a running `gamemesh up` wrote into the data directory when it
// answers (a node that crashed leaves its file behind), else none: ctl then
// works on the data directory's files.
func (o idipOpts) resolve(ctx context.Context) (idipOpts, error) {
	if o.url != "" {
		return o, nil
	}
	u, err := system.ReadIDIPURL(o.data)
	if err != nil || u == "" {
		return o, err
	}
	hctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(hctx, http.MethodGet, u+"/healthz", nil)
	if err != nil {
		return o, fmt.Errorf("%s holds a bad URL %q: %w", system.IDIPURLPath(o.data), u, err)
	}
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	if err != nil {
		return o, nil // nobody listens there any more
	}
	_ = resp.Body.Close()
	o.url = u
	return o, nil
}

// nextSerial is the --serial given (a retried command reuses it, and the
// API answers it once), or a fresh one.
func (o idipOpts) nextSerial() string {
	if o.serial != "" {
		return o.serial
	}
	return idip.NewSerial("ctl")
}

// idipStore is ctl's configuration store through the IDIP API (Dapr mode
// without direct Redis access, or any remote cluster): reads come from the
// API's switch and setting listings, writes are its feature and setting
// commands, so the API checks and audits them.
type idipStore struct {
	opts idipOpts
	cli  *idip.Client
	// last is the convergence the last write answered with.
	last *idip.Convergence
}

func openIDIPStore(o idipOpts) (*idipStore, error) {
	cli, err := o.client()
	if err != nil {
		return nil, err
	}
	return &idipStore{opts: o, cli: cli}, nil
}

func (s *idipStore) Get(ctx context.Context, keys []string) (map[string]gamemesh.ConfigItem, error) {
	var list []idip.SettingState
	if _, err := s.cli.Get(ctx, "setting", nil, &list); err != nil {
		return nil, err
	}
	out := map[string]gamemesh.ConfigItem{}
	for _, st := range list {
		k := feature.SettingPrefix + st.Name
		if st.Version != "" && slices.Contains(keys, k) {
			out[k] = gamemesh.ConfigItem{Value: st.Stored, Version: st.Version}
		}
	}
	return out, nil
}

func (s *idipStore) Prefixed(ctx context.Context, prefix string) (map[string]gamemesh.ConfigItem, error) {
	if prefix != feature.SwitchPrefix {
		return nil, fmt.Errorf("idip: cannot list %q keys", prefix)
	}
	var list []idip.FeatureState
	if _, err := s.cli.Get(ctx, "feature", nil, &list); err != nil {
		return nil, err
	}
	out := map[string]gamemesh.ConfigItem{}
	for _, f := range list {
		if f.Version != "" {
			out[feature.SwitchPrefix+f.System] = gamemesh.ConfigItem{Value: f.Value, Version: f.Version}
		}
	}
	return out, nil
}

func (s *idipStore) Set(ctx context.Context, key, value string) (string, error) {
	m := idip.Mutation{Serial: s.opts.nextSerial()}
	if sys, ok := strings.CutPrefix(key, feature.SwitchPrefix); ok {
		on, err := feature.ParseSwitch(value)
		if err != nil {
			return "", err
		}
		cmd := "feature.off"
		if on {
			cmd = "feature.on"
		}
		var res idip.SwitchResult
		_, err = s.cli.Post(ctx, cmd, idip.FeatureRequest{Mutation: m, System: sys}, &res)
		s.last = res.Convergence
		return res.Version, err
	}
	if name, ok := strings.CutPrefix(key, feature.SettingPrefix); ok {
		var res idip.SettingResult
		_, err := s.cli.Post(ctx, "setting.set", idip.SettingRequest{Mutation: m, Name: name, Value: idip.Value(value)}, &res)
		s.last = res.Convergence
		return res.Version, err
	}
	return "", fmt.Errorf("idip: cannot write key %q", key)
}

// awaitConverged prints which processes applied the last write: the API
// waited for them before it answered.
func (s *idipStore) awaitConverged(_ context.Context, key, version string, out io.Writer) error {
	if s.last == nil {
		return nil
	}
	return fromIDIP(s.last).report(out, key, version)
}

func (s *idipStore) Close() error { return nil }

// idipScriptOps is ctl script through the IDIP API: Dapr mode's way to
// publish a bundle (into the shared state store, active hash in Redis).
type idipScriptOps struct {
	opts idipOpts
	cli  *idip.Client
}

// as returns the client recording by as the operator (ctl script --by).
func (o *idipScriptOps) as(by string) *idip.Client {
	c := *o.cli
	if by != "" {
		c.Operator = by
	}
	return &c
}

func (o *idipScriptOps) Push(ctx context.Context, b *luavm.Bundle, by string) (luavm.Generation, error) {
	files := make([]idip.ScriptFile, 0, len(b.Files()))
	for _, f := range b.Files() {
		files = append(files, idip.ScriptFile{Name: f.Name, Source: f.Source})
	}
	var g idip.ScriptGeneration
	_, err := o.as(by).Post(ctx, "script.push", idip.ScriptPushRequest{Mutation: idip.Mutation{Serial: o.opts.nextSerial()},
		Module: b.Module(), Files: files, Source: "ctl push"}, &g)
	return generation(g), err
}

func (o *idipScriptOps) History(ctx context.Context, module string) (luavm.History, error) {
	var h idip.ScriptHistory
	if _, err := o.cli.Get(ctx, "script", url.Values{"module": {module}}, &h); err != nil {
		return luavm.History{}, err
	}
	out := luavm.History{Module: h.Module, Active: h.Active}
	for _, g := range h.Generations {
		out.Generations = append(out.Generations, luavm.HistoryEntry{Number: g.Number, Hash: g.Hash, By: g.By, Source: g.Source, CreatedAt: g.CreatedAt})
	}
	return out, nil
}

func (o *idipScriptOps) Rollback(ctx context.Context, module string, number int, by string) (luavm.Generation, error) {
	var g idip.ScriptGeneration
	_, err := o.as(by).Post(ctx, "script.rollback", idip.ScriptRollbackRequest{Mutation: idip.Mutation{Serial: o.opts.nextSerial()},
		Module: module, Number: number}, &g)
	return generation(g), err
}

func (o *idipScriptOps) Modules(ctx context.Context) ([]string, error) {
	var mods []string
	_, err := o.cli.Get(ctx, "script.modules", nil, &mods)
	return mods, err
}

func generation(g idip.ScriptGeneration) luavm.Generation {
	return luavm.Generation{Module: g.Module, Number: g.Number, Hash: g.Hash, CreatedAt: g.CreatedAt, By: g.By, Source: g.Source}
}

// isCtlIDIP reports whether a ctl command line is an "idip" command.
func isCtlIDIP(args []string) bool {
	fs, _ := idipFlagSet(io.Discard)
	_, pos := splitCtlArgs(fs, args)
	return len(pos) > 0 && pos[0] == "idip"
}

func idipFlagSet(stderr io.Writer) (*flag.FlagSet, *struct {
	idipOpts
	timeout time.Duration
	raw     bool
}) {
	o := &struct {
		idipOpts
		timeout time.Duration
		raw     bool
	}{}
	fs := flag.NewFlagSet("ctl idip", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addIDIPFlags(fs, &o.idipOpts)
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "deadline of the whole command")
	fs.BoolVar(&o.raw, "raw", false, "print the whole JSON answer, not only its result")
	fs.Usage = func() { idipUsage(fs) }
	return fs, o
}

// addIDIPFlags declares the flags every ctl command that reaches IDIP has.
func addIDIPFlags(fs *flag.FlagSet, o *idipOpts) {
	fs.StringVar(&o.url, "idip", "", "base `URL` of the IDIP API (token from $"+idip.TokenEnv+"); ctl idip defaults to "+defaultIDIPURL)
	fs.StringVar(&o.serial, "serial", "", "serial of a changing IDIP command: sending the same serial again runs it once (default: a fresh one)")
	fs.StringVar(&o.operator, "operator", defaultBy(), "operator name recorded in the IDIP audit log")
	if fs.Lookup("data") == nil {
		fs.StringVar(&o.data, "data", "gamemesh-data", "data `DIR` of \"gamemesh up\" whose idip.token to use when $"+idip.TokenEnv+" is not set")
	}
}

func idipUsage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprintln(w, "usage: gamemesh ctl idip COMMAND [name=value ...] [flags]")
	fmt.Fprintln(w, "\nRuns one IDIP command. Reads take their name=value as query parameters; changing")
	fmt.Fprintln(w, "commands send them as a JSON object (a value that parses as JSON is sent as such,")
	fmt.Fprintln(w, "anything else as a string) with a serial. Examples:")
	fmt.Fprintln(w, "  ctl idip player player_id=p123")
	fmt.Fprintln(w, "  ctl idip player.ban player_id=p123 reason='speed hack' duration_s=86400")
	fmt.Fprintln(w, "  ctl idip grant player_id=p123 'items=[{\"id\":\"gold\",\"count\":100}]'")
	fmt.Fprintln(w, "  ctl idip notice text='Maintenance at 03:00 UTC'")
	fmt.Fprintln(w, "  ctl idip audit player=p123 limit=20")
	fmt.Fprintln(w, "\ncommands:")
	cmds := idip.Commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-16s %s %s\n", n, cmds[n], idip.Path(n))
	}
	fmt.Fprintln(w, "\nflags:")
	fs.PrintDefaults()
}

// runCtlIDIP runs `gamemesh ctl idip COMMAND [name=value ...]` and prints
// the result as indented JSON. Bad arguments exit 2; a refused or failed
// command exits 1 with the API's message.
func runCtlIDIP(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, o := idipFlagSet(stderr)
	flags, pos := splitCtlArgs(fs, args)
	if err := parse(fs, flags); err != nil {
		return err
	}
	pos = pos[1:] // "idip"
	if o.url == "" {
		o.url = defaultIDIPURL
	}
	if len(pos) == 0 {
		fmt.Fprintln(stderr, "gamemesh ctl idip: want a COMMAND")
		fs.Usage()
		return errUsage
	}
	method, ok := idip.Commands()[pos[0]]
	if !ok {
		fmt.Fprintf(stderr, "gamemesh ctl idip: unknown command %q\n", pos[0])
		fs.Usage()
		return errUsage
	}
	params := map[string]string{}
	for _, kv := range pos[1:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			fmt.Fprintf(stderr, "gamemesh ctl idip: argument %q: want name=value\n", kv)
			return errUsage
		}
		params[k] = v
	}
	if o.timeout <= 0 {
		fmt.Fprintf(stderr, "gamemesh ctl idip: --timeout %v must be positive\n", o.timeout)
		return errUsage
	}
	cli, err := o.client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	var ans *idip.Answer
	if method == http.MethodGet {
		q := url.Values{}
		for k, v := range params {
			q.Set(k, v)
		}
		ans, err = cli.Get(ctx, pos[0], q, nil)
	} else {
		body := map[string]any{"serial": o.nextSerial()}
		for k, v := range params {
			var j any
			if json.Unmarshal([]byte(v), &j) == nil {
				body[k] = j
			} else {
				body[k] = v
			}
		}
		ans, err = cli.Post(ctx, pos[0], body, nil)
	}
	var ie *idip.Error
	if errors.As(err, &ie) {
		return fmt.Errorf("%s: %s (%s)", pos[0], ie.Message, idip.CodeName(ie.Code))
	}
	if err != nil {
		return err
	}
	out := any(ans.Result)
	if o.raw {
		out = ans
	}
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%s\n", data)
	return err
}
