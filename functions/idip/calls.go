package idip

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// invoke calls app.method as a service with the call timeout. id, when not
// empty, is the request id (derived from the serial for mutations).
func (a *App) invoke(ctx context.Context, app, method, id string, in, out proto.Message) error {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.CallTimeout)
	defer cancel()
	body, err := proto.Marshal(in)
	if err != nil {
		return gamemesh.Wrap(gamemesh.CodeInternal, err, "encoding request")
	}
	if id == "" {
		id = gamemesh.NewID()
	}
	resp, err := a.deps.Invoker.Invoke(ctx, gamemesh.Request{App: app, Method: method, ID: id, Body: body})
	if err != nil {
		return downstream(app+"."+method, err)
	}
	if err := proto.Unmarshal(resp, out); err != nil {
		return gamemesh.Wrap(gamemesh.CodeInternal, err, "decoding response of "+app+"."+method)
	}
	return nil
}

// downstream keeps the code of a function's error and says which call
// failed (operators see the message).
func downstream(route string, err error) error {
	code := gamemesh.CodeOf(err)
	if code == gamemesh.CodeInternal || code == gamemesh.CodeUnknownRoute {
		// An unknown route here is a function that does not serve this
		// method (yet): the command cannot run, retry once it does.
		return gamemesh.Wrap(gamemesh.CodeUnavailable, err, fmt.Sprintf("%s failed: %s", route, gamemesh.MessageOf(err)))
	}
	return gamemesh.Wrap(code, err, fmt.Sprintf("%s: %s", route, gamemesh.MessageOf(err)))
}

// account returns the login status of player; an unknown player is
// INVALID_ARGUMENT (an operator's mistake, nothing changed).
func (a *App) account(ctx context.Context, player string) (*gamev1.AccountStatusResponse, error) {
	var st gamev1.AccountStatusResponse
	err := a.invoke(ctx, "login", "status", "", &gamev1.AccountStatusRequest{PlayerId: player}, &st)
	if gamemesh.CodeOf(err) == gamemesh.CodeNotFound {
		return nil, invalid("unknown player %s", player)
	}
	if err != nil {
		return nil, err
	}
	return &st, nil
}
