package system

import (
	"context"

	"github.com/gamemesh/gamemesh/functions/mail"
	"github.com/gamemesh/gamemesh/luavm"
)

// luaTemplates renders mail templates on the Lua component (the module
// scripts/mail): one batch, one crossing to a locked worker.
type luaTemplates struct{ lua *Lua }

// Render implements mail.Templates.
func (t luaTemplates) Render(ctx context.Context, calls []mail.TemplateCall) ([]mail.Rendered, error) {
	lc := make([]luavm.Call, len(calls))
	for i, c := range calls {
		lc[i] = luavm.Call{Fn: mail.RenderFunction, Args: c.Args()}
	}
	res, _, err := t.lua.CallBatch(ctx, mail.TemplatesModule, lc)
	if err != nil {
		return nil, err
	}
	out := make([]mail.Rendered, len(res))
	for i := range res {
		out[i] = mail.NewRendered(res[i].Values, res[i].Err)
	}
	return out, nil
}
