package dapr

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/gamemesh/gamemesh"
)

// grpcCode returns the gRPC status code carried by err (wrapped or not).
func grpcCode(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	if st, ok := status.FromError(err); ok {
		return st.Code()
	}
	return codes.Unknown
}

// sidecarError maps an error from a sidecar call that is not a guard failure:
// the caller's own deadline or cancellation keep their meaning, a bad argument
// is INVALID_ARGUMENT, everything else means the sidecar or its backend could
// not answer (UNAVAILABLE). Internal causes stay in Err, never in Message.
func sidecarError(ctx context.Context, op string, err error) error {
	cause := fmt.Errorf("dapr %s: %w", op, err)
	if ctxErr := ctx.Err(); ctxErr != nil {
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			return gamemesh.Wrap(gamemesh.CodeDeadlineExceeded, cause, op+": deadline exceeded")
		}
		return gamemesh.Wrap(gamemesh.CodeUnavailable, cause, op+": cancelled")
	}
	switch grpcCode(err) {
	case codes.DeadlineExceeded:
		return gamemesh.Wrap(gamemesh.CodeDeadlineExceeded, cause, op+": deadline exceeded")
	case codes.InvalidArgument:
		return gamemesh.Wrap(gamemesh.CodeInvalidArgument, cause, op+": invalid argument")
	}
	return gamemesh.Wrap(gamemesh.CodeUnavailable, cause, op+": unavailable")
}
