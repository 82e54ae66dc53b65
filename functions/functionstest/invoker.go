package functionstest

import (
	"context"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
)

// Invoker is a gamemesh.Invoker that calls straight into Registry, with the
// registry's route and body checks.
type Invoker struct {
	// Registry serves every request.
	Registry *functions.Registry
}

// Invoke runs req through the registry.
func (i Invoker) Invoke(ctx context.Context, req gamemesh.Request) ([]byte, error) {
	return i.Registry.Call(ctx, req)
}

// CallAs runs app.method through reg as player (empty: a service) with
// request id id (empty: a fresh one), marshalling in and unmarshalling the
// answer into out.
func CallAs(ctx context.Context, reg *functions.Registry, player gamemesh.PlayerID, id, app, method string, in, out proto.Message) error {
	body, err := proto.Marshal(in)
	if err != nil {
		return err
	}
	if id == "" {
		id = gamemesh.NewID()
	}
	resp, err := reg.Call(ctx, gamemesh.Request{App: app, Method: method, Player: player, ID: id, Body: body})
	if err != nil {
		return err
	}
	return proto.Unmarshal(resp, out)
}
