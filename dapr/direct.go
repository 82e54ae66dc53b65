package dapr

import (
	"context"
	"errors"
	"fmt"

	commonv1pb "github.com/dapr/dapr/pkg/proto/common/v1"
	runtimev1pb "github.com/dapr/dapr/pkg/proto/runtime/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/gamemesh/gamemesh"
)

// DirectInvoker calls an App over a direct gRPC connection to its app
// channel, the way its sidecar does, without any sidecar in between. It is
// the baseline of the sidecar-overhead benchmark and a way for tests to reach
// an app whose sidecar is down; production calls go through NewInvoker.
type DirectInvoker struct {
	conn  *grpc.ClientConn
	cb    runtimev1pb.AppCallbackClient
	token string
}

var _ gamemesh.Invoker = (*DirectInvoker)(nil)

// NewDirectInvoker connects (lazily) to the app channel at addr; appToken is
// sent as its sidecar would send APP_API_TOKEN.
func NewDirectInvoker(addr, appToken string) (*DirectInvoker, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("dapr: connecting to app %s: %w", addr, err)
	}
	return &DirectInvoker{conn: conn, cb: runtimev1pb.NewAppCallbackClient(conn), token: appToken}, nil
}

// Invoke calls req.App.req.Method on the app with the Invoker's conventions
// (deadline, player and request id as metadata, result envelope).
func (d *DirectInvoker) Invoke(ctx context.Context, req gamemesh.Request) ([]byte, error) {
	route := req.App + "." + req.Method
	if _, _, ok := gamemesh.Route(route).Split(); !ok {
		return nil, gamemesh.Errorf(gamemesh.CodeUnknownRoute, "unknown route %s", route)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, gamemesh.DefaultDeadline)
		defer cancel()
	}
	kv := []string{mdDeadline, formatDeadline(callDeadline(ctx, gamemesh.DefaultDeadline)), mdPlayer, string(req.Player), mdRequestID, req.ID}
	if d.token != "" {
		kv = append(kv, tokenHeader, d.token)
	}
	resp, err := d.cb.OnInvoke(metadata.AppendToOutgoingContext(ctx, kv...), &commonv1pb.InvokeRequest{
		Method:      route,
		Data:        &anypb.Any{Value: req.Body},
		ContentType: requestContentType,
	})
	if err != nil {
		return nil, invokeError(ctx, route, err)
	}
	res, err := decodeResult(resp.GetData().GetValue())
	if errors.Is(err, errMalformedResult) {
		return nil, gamemesh.Wrap(gamemesh.CodeInternal, err, "malformed response from "+route)
	}
	return res, err
}

// Close closes the connection.
func (d *DirectInvoker) Close() error { return d.conn.Close() }
