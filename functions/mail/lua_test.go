package mail_test

// The env's templates: the real Lua module scripts/mail on a luavm.Pool
// behind a test adapter (as internal/system wires it), behind a switch that
// makes them unavailable.

import (
	"context"
	"sync"
	"testing"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions/mail"
	"github.com/gamemesh/gamemesh/luavm"
)

// switchTemplates is unavailable until set, and again after set(nil).
type switchTemplates struct {
	mu    sync.Mutex
	inner mail.Templates
	calls int
}

func (s *switchTemplates) set(t mail.Templates) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inner = t
}

func (s *switchTemplates) Render(ctx context.Context, calls []mail.TemplateCall) ([]mail.Rendered, error) {
	s.mu.Lock()
	inner := s.inner
	s.calls++
	s.mu.Unlock()
	if inner == nil {
		return nil, gamemesh.Errorf(gamemesh.CodeUnavailable, "lua unavailable (test)")
	}
	return inner.Render(ctx, calls)
}

// poolTemplates adapts a luavm.Pool to mail.Templates.
type poolTemplates struct{ pool *luavm.Pool }

func (p poolTemplates) Render(ctx context.Context, calls []mail.TemplateCall) ([]mail.Rendered, error) {
	lc := make([]luavm.Call, len(calls))
	for i, c := range calls {
		lc[i] = luavm.Call{Fn: mail.RenderFunction, Args: c.Args()}
	}
	res, _, err := p.pool.CallBatch(ctx, mail.TemplatesModule, lc)
	if err != nil {
		return nil, err
	}
	out := make([]mail.Rendered, len(res))
	for i, r := range res {
		out[i] = mail.NewRendered(r.Values, r.Err)
	}
	return out, nil
}

// startLua loads scripts/mail into a pool and makes the env's templates use it.
func (e *env) startLua(t *testing.T) poolTemplates {
	t.Helper()
	pool, err := luavm.New(luavm.Options{Required: map[string][]string{mail.TemplatesModule: {mail.RenderFunction}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := pool.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pool.Close() })
	b, err := luavm.LoadModule("../../scripts/mail")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Patch(context.Background(), b, luavm.PatchOptions{By: "test", SkipCanary: true}); err != nil {
		t.Fatal(err)
	}
	pt := poolTemplates{pool}
	e.tpl.set(pt)
	return pt
}
