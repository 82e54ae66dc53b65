package idip

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"

	"github.com/gamemesh/gamemesh"
)

// MaxScriptFiles caps the files of one pushed module.
const MaxScriptFiles = 64

func checkModule(m string) error {
	if !gamemesh.ValidKeyPart(m) {
		return invalid("module %.70q: want 2 to 64 characters of [a-z0-9_-]", m)
	}
	return nil
}

func (a *App) scripts() (Scripts, error) {
	if a.deps.Scripts == nil {
		return nil, gamemesh.Errorf(gamemesh.CodeUnavailable, "this IDIP process publishes no scripts")
	}
	return a.deps.Scripts, nil
}

// ScriptModulesQuery is the request of "script.modules" (GET
// /v1/script/modules): the modules the cluster knows.
type ScriptModulesQuery struct{ read }

func (*ScriptModulesQuery) validate(*App) error { return nil }
func (*ScriptModulesQuery) target() string      { return "" }
func (*ScriptModulesQuery) auditArgs() any      { return nil }

// ScriptQuery is the request of "script" (GET /v1/script?module=...): one
// module's generations and activations.
type ScriptQuery struct {
	read
	Module string `json:"module"`
}

func (q *ScriptQuery) fromQuery(v url.Values) error { q.Module = v.Get("module"); return nil }
func (q *ScriptQuery) validate(*App) error          { return checkModule(q.Module) }
func (q *ScriptQuery) target() string               { return "" }
func (q *ScriptQuery) auditArgs() any               { return q }

// ScriptPushRequest is the request of "script.push": a module's files. It
// is checked (compiles, exports what the hosts need, its self_test passes)
// before anything is published; every host then adopts it through its own
// checks and canary.
type ScriptPushRequest struct {
	Mutation
	Module string       `json:"module"`
	Files  []ScriptFile `json:"files"`
	// Source says where the files come from (e.g. "ctl push"), for the history.
	Source string `json:"source,omitempty"`
}

func (r *ScriptPushRequest) validate(*App) error {
	errs := []error{checkModule(r.Module), checkText("source", r.Source, 128, false, false)}
	if len(r.Files) == 0 || len(r.Files) > MaxScriptFiles {
		errs = append(errs, invalid("files: 1 to %d files, got %d", MaxScriptFiles, len(r.Files)))
	}
	for i, f := range r.Files {
		if f.Name == "" {
			errs = append(errs, invalid("files[%d]: a name is required", i))
		}
	}
	return errors.Join(errs...)
}
func (r *ScriptPushRequest) target() string { return "" }
func (r *ScriptPushRequest) auditArgs() any {
	type file struct {
		Name   string `json:"name"`
		Bytes  int    `json:"bytes"`
		SHA256 string `json:"sha256"`
	}
	files := make([]file, len(r.Files))
	for i, f := range r.Files {
		sum := sha256.Sum256([]byte(f.Source))
		files[i] = file{Name: cut(f.Name, 64), Bytes: len(f.Source), SHA256: hex.EncodeToString(sum[:8])}
	}
	return map[string]any{"module": r.Module, "files": files, "source": r.Source}
}

// ScriptRollbackRequest is the request of "script.rollback".
type ScriptRollbackRequest struct {
	Mutation
	Module string `json:"module"`
	// Number is the generation to make active; 0 = the one active before
	// the current one.
	Number int `json:"number"`
}

func (r *ScriptRollbackRequest) validate(*App) error {
	if r.Number < 0 {
		return invalid("number must be a generation (1, 2, ...) or 0 for the previous one")
	}
	return checkModule(r.Module)
}
func (r *ScriptRollbackRequest) target() string { return "" }
func (r *ScriptRollbackRequest) auditArgs() any { return r }

func (a *App) scriptModules(ctx context.Context, _ *call, _ *ScriptModulesQuery) (any, error) {
	s, err := a.scripts()
	if err != nil {
		return nil, err
	}
	mods, err := s.Modules(ctx)
	if err != nil {
		return nil, err
	}
	if mods == nil {
		mods = []string{}
	}
	return mods, nil
}

func (a *App) scriptHistory(ctx context.Context, _ *call, q *ScriptQuery) (any, error) {
	s, err := a.scripts()
	if err != nil {
		return nil, err
	}
	return s.History(ctx, q.Module)
}

func (a *App) scriptPush(ctx context.Context, c *call, r *ScriptPushRequest) (any, error) {
	s, err := a.scripts()
	if err != nil {
		return nil, err
	}
	src := r.Source
	if src == "" {
		src = AppName
	}
	gen, err := s.Push(ctx, r.Module, r.Files, c.who, src)
	if err != nil {
		return nil, err
	}
	c.summary = fmt.Sprintf("%s generation %d (%.12s) active", gen.Module, gen.Number, gen.Hash)
	return gen, nil
}

func (a *App) scriptRollback(ctx context.Context, c *call, r *ScriptRollbackRequest) (any, error) {
	s, err := a.scripts()
	if err != nil {
		return nil, err
	}
	gen, err := s.Rollback(ctx, r.Module, r.Number, c.who)
	if err != nil {
		return nil, err
	}
	c.summary = fmt.Sprintf("%s rolled back to generation %d (%.12s)", gen.Module, gen.Number, gen.Hash)
	return gen, nil
}
