package system

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/dapr"
	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/embedded"
	"github.com/gamemesh/gamemesh/functions/idip"
	"github.com/gamemesh/gamemesh/luavm"
	"github.com/gamemesh/gamemesh/redisconfig"
)

// DefaultIDIPAddr is where the IDIP API listens unless told otherwise
// (loopback: operators reach it from the machine, or through a proxy).
const DefaultIDIPAddr = "127.0.0.1:7102"

// IDIPTokenSecretName is the secret (Dapr secret store) holding the IDIP
// admin token in Dapr mode; with the local.env store it is the variable
// GAMEMESH_SECRET_IDIP_ADMIN_TOKEN of the idip sidecar.
const IDIPTokenSecretName = "IDIP_ADMIN_TOKEN"

// IDIPTokenPath names the generated admin token in a data directory.
func IDIPTokenPath(dataDir string) string { return filepath.Join(dataDir, "idip.token") }

// IDIPURLPath names the file where a running `gamemesh up` writes the base
// URL of its IDIP API (removed when it stops): `gamemesh ctl --data DIR`
// goes through that API while the node runs.
func IDIPURLPath(dataDir string) string { return filepath.Join(dataDir, "idip.url") }

// ReadIDIPURL returns the URL a running node on dataDir wrote, "" when
// there is none (no node, or one without IDIP).
func ReadIDIPURL(dataDir string) (string, error) {
	b, err := os.ReadFile(IDIPURLPath(dataDir))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("system: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// ConfigLockPath names the lock file that serializes writers of a data
// directory's config file (gamemesh ctl processes and the running node).
func ConfigLockPath(dataDir string) string { return ConfigPath(dataDir) + ".lock" }

// generatedSuffix ends the source a loader reports for a secret it has just
// generated (the ticket key, the IDIP token): the one start that prints it.
const generatedSuffix = " (generated)"

// LoadIDIPToken returns the admin token in the file at path, creating it
// with a fresh random token (mode 0600) on first use. The token is never a
// constant in code; a file holding a weak token is refused.
func LoadIDIPToken(path string) (token, source string, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		tok := strings.TrimSpace(string(b))
		if err := idip.CheckToken(tok); err != nil {
			return "", "", fmt.Errorf("%s: %w", path, err)
		}
		return tok, path, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", "", fmt.Errorf("reading the IDIP token: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", "", fmt.Errorf("generating the IDIP token: %w", err)
	}
	tok := hex.EncodeToString(raw)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", "", fmt.Errorf("creating %s: %w", filepath.Dir(path), err)
	}
	if err := writeFileAtomic(path, []byte(tok+"\n")); err != nil {
		return "", "", fmt.Errorf("writing the IDIP token: %w", err)
	}
	return tok, path + generatedSuffix, nil
}

// lockedFileConfig is the embedded config file as IDIP (and the Lua
// publisher) write it: each Set holds the data directory's config lock, the
// one `gamemesh ctl` takes, so concurrent writers in several processes
// neither lose an update nor share a version.
type lockedFileConfig struct {
	fc   *embedded.FileConfig
	lock string
}

func (c lockedFileConfig) Get(ctx context.Context, keys []string) (map[string]gamemesh.ConfigItem, error) {
	if len(keys) == 0 {
		return map[string]gamemesh.ConfigItem{}, nil
	}
	return c.fc.Get(ctx, keys)
}

func (c lockedFileConfig) Prefixed(ctx context.Context, prefix string) (map[string]gamemesh.ConfigItem, error) {
	all, err := c.fc.Get(ctx, nil)
	if err != nil {
		return nil, err
	}
	for k := range all {
		if !strings.HasPrefix(k, prefix) {
			delete(all, k)
		}
	}
	return all, nil
}

func (c lockedFileConfig) Set(ctx context.Context, key, value string) (string, error) {
	unlock, err := LockFile(ctx, c.lock, 5*time.Millisecond)
	if err != nil {
		return "", gamemesh.Wrap(gamemesh.CodeUnavailable, err, "config file locked")
	}
	defer unlock()
	return c.fc.Set(key, value)
}

// luaWriter adapts a context-taking writer to LuaConfigWriter (whose Set has
// no context: a publisher's writes are bounded by the caller's timeouts).
type luaWriter struct {
	set func(ctx context.Context, key, value string) (string, error)
}

func (w luaWriter) Set(key, value string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return w.set(ctx, key, value)
}

// luaRedisConfig is the Redis configuration store as a luavm.ConfigStore:
// active hashes read and written straight in Redis (hosts read them
// through their sidecars).
type luaRedisConfig struct{ s *redisconfig.Store }

func (c luaRedisConfig) Get(ctx context.Context, keys []string) (map[string]gamemesh.ConfigItem, error) {
	return c.s.Get(ctx, keys)
}

func (c luaRedisConfig) Set(key, value string) (string, error) {
	return luaWriter{set: c.s.Set}.Set(key, value)
}

// idipScripts is idip.Scripts over a luavm.Publisher; modules are listed
// from the active-hash keys of the configuration.
type idipScripts struct {
	pub    *luavm.Publisher
	config idip.ConfigStore
}

func (s idipScripts) Push(ctx context.Context, module string, files []idip.ScriptFile, by, source string) (idip.ScriptGeneration, error) {
	lf := make([]luavm.File, len(files))
	for i, f := range files {
		lf[i] = luavm.File{Name: f.Name, Source: f.Source}
	}
	b, err := luavm.NewBundle(module, lf)
	if err != nil {
		return idip.ScriptGeneration{}, gamemesh.Wrap(gamemesh.CodeInvalidArgument, err, "push refused: "+gamemesh.MessageOf(err))
	}
	gen, err := s.pub.Push(ctx, b, by, source)
	return scriptGeneration(gen), scriptError(err)
}

func (s idipScripts) History(ctx context.Context, module string) (idip.ScriptHistory, error) {
	h, err := s.pub.History(ctx, module)
	if err != nil {
		return idip.ScriptHistory{}, scriptError(err)
	}
	out := idip.ScriptHistory{Module: module, Active: h.Active, Generations: []idip.ScriptGeneration{}, Activations: []idip.ScriptActivation{}}
	for _, g := range h.Generations {
		out.Generations = append(out.Generations, idip.ScriptGeneration{Module: module, Number: g.Number, Hash: g.Hash, By: g.By,
			Source: g.Source, CreatedAt: g.CreatedAt})
	}
	for _, a := range h.Activations {
		out.Activations = append(out.Activations, idip.ScriptActivation{Number: a.Number, Hash: a.Hash, By: a.By, At: a.At, Action: a.Action})
	}
	return out, nil
}

func (s idipScripts) Rollback(ctx context.Context, module string, number int, by string) (idip.ScriptGeneration, error) {
	gen, err := s.pub.Rollback(ctx, module, number, by)
	return scriptGeneration(gen), scriptError(err)
}

func (s idipScripts) Modules(ctx context.Context) ([]string, error) {
	items, err := s.config.Prefixed(ctx, luavm.ConfigKey(""))
	if err != nil {
		return nil, gamemesh.Wrap(gamemesh.CodeUnavailable, err, "reading the active scripts")
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

func scriptGeneration(g luavm.Generation) idip.ScriptGeneration {
	return idip.ScriptGeneration{Module: g.Module, Number: g.Number, Hash: g.Hash, By: g.By, Source: g.Source, CreatedAt: g.CreatedAt}
}

// scriptError keeps the catalogue errors of the publisher (refusals,
// unknown generations) and makes store failures UNAVAILABLE.
func scriptError(err error) error {
	if err == nil {
		return nil
	}
	var ge *gamemesh.Error
	if errors.As(err, &ge) {
		return err
	}
	return gamemesh.Wrap(gamemesh.CodeUnavailable, err, "script store unavailable")
}

// newScriptChecker starts a one-worker Lua pool that checks bundles before
// they are published (compile, required exports, self_test), for a process
// that runs no Lua of its own (the IDIP app in Dapr mode).
func newScriptChecker(log *slog.Logger) (*luavm.Pool, error) {
	pool, err := luavm.New(luavm.Options{Logger: log, Limits: luavm.Limits{Workers: 1}, Required: luavm.RequiredExports})
	if err != nil {
		return nil, err
	}
	if err := pool.Start(); err != nil {
		_ = pool.Close()
		return nil, err
	}
	return pool, nil
}

// embeddedIDIP builds the IDIP app of `gamemesh up` on the node's own
// adapters: its keys in the bbolt store, calls in process, the in-process
// directory and roster, the locked config file, the node's Lua publisher.
func embeddedIDIP(e *Embedded, p appPorts, dir *directory.Memory, config lockedFileConfig) (*idip.App, string, error) {
	tok, source, err := LoadIDIPToken(IDIPTokenPath(e.cfg.DataDir))
	if err != nil {
		return nil, "", fmt.Errorf("system: %w", err)
	}
	deps := idip.Deps{Store: p.store, Invoker: p.invoker, Locator: dir, Publisher: p.pub, Roster: e.roster, Config: config,
		Features: e.flags, Logger: e.log.With("part", "idip")}
	if e.lua != nil && e.lua.pub != nil {
		deps.Scripts = idipScripts{pub: e.lua.pub, config: config}
	}
	app, err := idip.New(idip.Config{Addr: e.cfg.IDIPAddr, Token: tok, Node: e.cfg.Gate.ID}, deps)
	if err != nil {
		return nil, "", fmt.Errorf("system: %w", err)
	}
	return app, source, nil
}

// daprIDIP is the IDIP app of `gamemesh fn --only idip` and what it owns.
type daprIDIP struct {
	app     *idip.App
	checker *luavm.Pool
	config  *redisconfig.Store
}

// secretGetter reads one secret (dapr.Secrets).
type secretGetter interface {
	Get(ctx context.Context, name string) (string, error)
}

// daprIDIPToken returns the IDIP admin token of a Dapr-mode IDIP app: the
// secret IDIPTokenSecretName when the store has one (a weak one is refused),
// else, when file is set, the token kept there (generated on first start and
// printed once, for the operator to read from the log); else an error.
func daprIDIPToken(ctx context.Context, secrets secretGetter, file string, log *slog.Logger) (string, error) {
	tok, err := secrets.Get(ctx, IDIPTokenSecretName)
	switch {
	case err == nil:
		if err := idip.CheckToken(tok); err != nil {
			return "", fmt.Errorf("system: secret %s: %w", IDIPTokenSecretName, err)
		}
		log.Info("IDIP admin token", "source", "secret "+IDIPTokenSecretName)
		return tok, nil
	case gamemesh.CodeOf(err) != gamemesh.CodeNotFound || file == "":
		return "", fmt.Errorf("system: the IDIP admin token: secret %s from %s (GAMEMESH_SECRET_%s in the idip sidecar's environment): %w",
			IDIPTokenSecretName, SecretStore, IDIPTokenSecretName, err)
	}
	tok, source, err := LoadIDIPToken(file)
	if err != nil {
		return "", fmt.Errorf("system: the IDIP admin token: %w", err)
	}
	if strings.HasSuffix(source, generatedSuffix) {
		// Printed once, when generated: the operator's only way to learn it
		// when the file sits in a container without a shell.
		log.Warn("IDIP admin token generated (no secret "+IDIPTokenSecretName+"): keep it, it is not printed again",
			"file", file, "token", tok)
	} else {
		log.Info("IDIP admin token", "source", source)
	}
	return tok, nil
}

// setShippedBaseline tells pub what the hosts run before a module's first
// push: the scripts folder they ship with (the same image's). Rolling a
// first push back then returns to it. A missing folder sets none (a first
// push then cannot be rolled back, only pushed over); one that does not load
// is an error, as it would be on every host.
func setShippedBaseline(pub *luavm.Publisher, dir string, log *slog.Logger) error {
	mods, err := ScriptModules(dir)
	if err != nil {
		return err
	}
	var bundles []*luavm.Bundle
	for m, d := range mods {
		b, err := luavm.LoadModule(d)
		if err != nil {
			return fmt.Errorf("system: lua module %s: %w", m, err)
		}
		bundles = append(bundles, b)
	}
	pub.SetBaseline("shipped:"+dir, bundles...)
	log.Info("lua baseline: a module's first push can be rolled back to the shipped scripts", "dir", dir, "modules", len(bundles))
	return nil
}

// newDaprIDIP builds the IDIP app in Dapr mode: its keys in the state store
// under its own app id, calls through the sidecar, the shared online
// directory, the Redis roster, switches and settings written to the Redis
// configuration store (Dapr's configuration API cannot write), Lua bundles
// published into the shared state store every host's Follower reads. The
// admin token comes from the secret store; without a strong one it refuses
// to start.
func newDaprIDIP(ctx context.Context, c *dapr.Client, cfg DaprFunctionsConfig, p appPorts, dir directory.Locator,
	roster Roster, features idip.Features, log *slog.Logger) (d *daprIDIP, err error) {
	tok, err := daprIDIPToken(ctx, dapr.NewSecrets(c, SecretStore), cfg.IDIPTokenFile, log)
	if err != nil {
		return nil, err
	}
	addr := cfg.IDIPAddr
	if addr == "" {
		addr = DefaultIDIPAddr
	}
	d = &daprIDIP{}
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	if d.config, err = redisconfig.Open(ctx, cfg.RedisAddr, cfg.RedisPassword); err != nil {
		return nil, fmt.Errorf("system: idip configuration writer: %w", err)
	}
	if d.checker, err = newScriptChecker(log.With("part", "idip-lua-check")); err != nil {
		return nil, fmt.Errorf("system: idip script checker: %w", err)
	}
	pub := luavm.NewPublisher(dapr.NewStore(c, SharedStateStore), luaRedisConfig{d.config}, d.checker, log)
	if err := setShippedBaseline(pub, cfg.ScriptsDir, log); err != nil {
		return nil, err
	}
	d.app, err = idip.New(idip.Config{Addr: addr, Token: tok, Node: memberID(directory.KindIDIP, cfg.ID)}, idip.Deps{
		Store: p.store, Invoker: p.invoker, Locator: dir, Publisher: p.pub, Roster: roster, Config: d.config,
		Scripts: idipScripts{pub: pub, config: d.config}, Features: features, Logger: log.With("part", "idip"),
	})
	if err != nil {
		return nil, fmt.Errorf("system: %w", err)
	}
	return d, nil
}

func (d *daprIDIP) stop(ctx context.Context) error {
	err := d.app.Stop(ctx)
	return errors.Join(err, d.close())
}

func (d *daprIDIP) close() error {
	var errs []error
	if d.checker != nil {
		errs = append(errs, d.checker.Close())
	}
	if d.config != nil {
		errs = append(errs, d.config.Close())
	}
	return errors.Join(errs...)
}
