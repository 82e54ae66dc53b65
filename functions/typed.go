package functions

import (
	"context"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
)

// Typed adapts a handler over protobuf messages to a Handler: it decodes the
// body into a new In (a malformed body is BAD_REQUEST and the handler does not
// run) and encodes the returned Out.
func Typed[In, Out proto.Message](newIn func() In, fn func(ctx context.Context, req gamemesh.Request, in In) (Out, error)) Handler {
	return func(ctx context.Context, req gamemesh.Request) ([]byte, error) {
		in := newIn()
		if err := proto.Unmarshal(req.Body, in); err != nil {
			return nil, gamemesh.Wrap(gamemesh.CodeBadRequest, err, "malformed request body for "+req.App+"."+req.Method)
		}
		out, err := fn(ctx, req, in)
		if err != nil {
			return nil, err
		}
		b, err := proto.Marshal(out)
		if err != nil {
			return nil, gamemesh.Wrap(gamemesh.CodeInternal, err, "encoding response")
		}
		return b, nil
	}
}

// Call invokes app.method through inv with in as the body and decodes the
// response into out. It is how functions call each other (always through an
// Invoker, never by importing each other's packages).
func Call(ctx context.Context, inv gamemesh.Invoker, app, method string, in, out proto.Message) error {
	body, err := proto.Marshal(in)
	if err != nil {
		return gamemesh.Wrap(gamemesh.CodeInternal, err, "encoding request")
	}
	resp, err := inv.Invoke(ctx, gamemesh.Request{App: app, Method: method, ID: gamemesh.NewID(), Body: body})
	if err != nil {
		return err
	}
	if err := proto.Unmarshal(resp, out); err != nil {
		return gamemesh.Wrap(gamemesh.CodeInternal, err, "decoding response of "+app+"."+method)
	}
	return nil
}
