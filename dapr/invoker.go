package dapr

import (
	"context"
	"errors"
	"strings"
	"time"

	daprc "github.com/dapr/go-sdk/client"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/gamemesh/gamemesh"
)

// InvokerOptions configure an Invoker.
type InvokerOptions struct {
	// AppIDs maps a function app (the system part of a route, Request.App) to
	// the Dapr app id that serves it, for processes that serve several
	// function apps under one app id ("gamemesh fn --only login,mail").
	// Unmapped apps are served by the Dapr app id of the same name.
	AppIDs map[string]string
}

// Invoker is a gamemesh.Invoker over Dapr service invocation.
type Invoker struct {
	c      *Client
	appIDs map[string]string
}

var _ gamemesh.Invoker = (*Invoker)(nil)

// NewInvoker returns an Invoker that calls function apps through c's sidecar.
func NewInvoker(c *Client, opts InvokerOptions) *Invoker {
	ids := make(map[string]string, len(opts.AppIDs))
	for k, v := range opts.AppIDs {
		ids[k] = v
	}
	return &Invoker{c: c, appIDs: ids}
}

// Invoke calls req.App.req.Method. The caller's deadline (DefaultDeadline
// when ctx has none) bounds the whole call and reaches the handler; Player
// and ID reach it as metadata. A function's error comes back with its code
// and message; a transport failure is UNAVAILABLE, an expired deadline
// DEADLINE_EXCEEDED.
func (i *Invoker) Invoke(ctx context.Context, req gamemesh.Request) ([]byte, error) {
	route := req.App + "." + req.Method
	if _, _, ok := gamemesh.Route(route).Split(); !ok {
		return nil, gamemesh.Errorf(gamemesh.CodeUnknownRoute, "unknown route %s", route)
	}
	if req.Player != "" && !req.Player.Valid() {
		return nil, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "malformed player id")
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, gamemesh.DefaultDeadline)
		defer cancel()
	}
	kv := []string{mdDeadline, formatDeadline(callDeadline(ctx, gamemesh.DefaultDeadline))}
	if req.Player != "" {
		kv = append(kv, mdPlayer, string(req.Player))
	}
	if req.ID != "" {
		kv = append(kv, mdRequestID, req.ID)
	}
	ctx = metadata.AppendToOutgoingContext(ctx, kv...)

	appID := req.App
	if id, ok := i.appIDs[req.App]; ok {
		appID = id
	}
	body := req.Body
	if body == nil {
		body = []byte{}
	}
	out, err := i.c.sdk.InvokeMethodWithContent(ctx, appID, route, "post",
		&daprc.DataContent{Data: body, ContentType: requestContentType})
	if err != nil {
		return nil, invokeError(ctx, route, err)
	}
	res, err := decodeResult(out)
	if errors.Is(err, errMalformedResult) {
		return nil, gamemesh.Wrap(gamemesh.CodeInternal, err, "malformed response from "+route)
	}
	return res, err
}

// invokeError maps a transport failure of an invocation. The sidecar reports
// an expired deadline in several ways (DeadlineExceeded; Internal wrapping
// the remote sidecar's DeadlineExceeded; the resiliency timeout), and its own
// copy of the deadline may fire a moment before the caller's.
func invokeError(ctx context.Context, route string, err error) error {
	deadline, _ := ctx.Deadline()
	switch code := grpcCode(err); {
	case errors.Is(ctx.Err(), context.DeadlineExceeded),
		code == codes.DeadlineExceeded,
		time.Until(deadline) < deadlineSlack,
		strings.Contains(err.Error(), "DeadlineExceeded"),
		strings.Contains(err.Error(), context.DeadlineExceeded.Error()):
		return gamemesh.Wrap(gamemesh.CodeDeadlineExceeded, err, route+": deadline exceeded")
	case code == codes.PermissionDenied:
		return gamemesh.Wrap(gamemesh.CodePermissionDenied, err, route+": permission denied")
	}
	return gamemesh.Wrap(gamemesh.CodeUnavailable, err, route+": unavailable")
}

// deadlineSlack: a failure this close to the caller's deadline is its deadline.
const deadlineSlack = 5 * time.Millisecond
