package system

import (
	"context"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
)

// localFirst invokes the methods served by this process's own registry in
// process and everything else through remote (the Dapr sidecar). Function apps
// grouped in one `gamemesh fn` call each other without two sidecar hops
// (mail.send asks login.exists, player.get asks mail.pendingGrants...); the
// calls still go through an Invoker, so splitting the apps into several
// processes later changes no code, only which calls cross a sidecar.
type localFirst struct {
	reg    *functions.Registry
	local  gamemesh.Invoker
	remote gamemesh.Invoker
}

// Invoke implements gamemesh.Invoker.
func (l localFirst) Invoke(ctx context.Context, req gamemesh.Request) ([]byte, error) {
	if _, ok := l.reg.Lookup(req.App, req.Method); ok {
		return l.local.Invoke(ctx, req)
	}
	return l.remote.Invoke(ctx, req)
}
