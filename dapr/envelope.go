package dapr

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/gamemesh/gamemesh"
)

// Invocation wire conventions shared by the Invoker and the App.
//
// The request travels as the InvokeRequest data with the route as method
// ("mail.send") and these gRPC metadata keys, which daprd forwards to the
// target app. The result travels in-band as a google.rpc.Status: code = the
// gamemesh error code (0 = OK), message = the client-safe message, and on
// success one detail holding the response body. A function's own errors
// therefore never look like a transport failure to daprd, and resiliency
// retries only what failed in transport.
const (
	mdPlayer    = "gamemesh-player"
	mdRequestID = "gamemesh-request-id"
	// mdDeadline is when the caller gives up on the call, in milliseconds
	// since the Unix epoch: daprd's gRPC app channel calls the app with
	// context.Background(), so the deadline is carried explicitly. It is
	// absolute, so the time a request waits in the sidecars before it reaches
	// the app counts too (the callers' and the apps' clocks are assumed to
	// agree to well within handlerTimeout's margin, as NTP keeps them).
	mdDeadline = "gamemesh-deadline-ms"

	requestContentType = "application/x-protobuf"
	resultContentType  = "application/vnd.gamemesh.result+proto"
	bodyTypeURL        = "type.gamemesh.dev/body"
)

// encodeResult marshals a handler's outcome into the result envelope.
func encodeResult(body []byte, err error) []byte {
	st := &spb.Status{}
	if err != nil {
		st.Code = int32(gamemesh.CodeOf(err))
		st.Message = gamemesh.MessageOf(err)
	} else {
		st.Details = []*anypb.Any{{TypeUrl: bodyTypeURL, Value: body}}
	}
	b, merr := proto.Marshal(st)
	if merr != nil { // cannot happen for this message
		b, _ = proto.Marshal(&spb.Status{Code: int32(gamemesh.CodeInternal), Message: "internal error"})
	}
	return b
}

// errMalformedResult is the cause when the target answered something else
// than a result envelope (not a gamemesh app, or a proxy in between).
var errMalformedResult = errors.New("malformed result envelope")

// decodeResult unmarshals a result envelope into the body or the function's
// error (same code and message as the handler's).
func decodeResult(b []byte) ([]byte, error) {
	var st spb.Status
	if err := proto.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%w: %v", errMalformedResult, err)
	}
	if st.Code != 0 {
		code := gamemesh.Code(st.Code)
		if code == gamemesh.CodeOK {
			code = gamemesh.CodeInternal
		}
		return nil, &gamemesh.Error{Code: code, Message: st.Message}
	}
	if len(st.Details) != 1 || st.Details[0].GetTypeUrl() != bodyTypeURL {
		return nil, errMalformedResult
	}
	return st.Details[0].GetValue(), nil
}

// callDeadline is the deadline a caller sends with a call: its own, capped
// at callTimeout from now (the function timeout of the sidecars, past which
// daprd gives up on the attempt whatever the caller's context says).
func callDeadline(ctx context.Context, callTimeout time.Duration) time.Time {
	limit := time.Now().Add(callTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(limit) {
		return d
	}
	return limit
}

// formatDeadline renders a deadline for mdDeadline.
func formatDeadline(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// parseDeadline reads mdDeadline; ok is false when absent or malformed.
func parseDeadline(v string) (time.Time, bool) {
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}

// handlerTimeout is how long a handler may run when its caller has timeout
// left: a little less, so that a handler that runs out of time (a contested
// record, a slow store) answers DEADLINE_EXCEEDED in-band before the caller's
// sidecar gives up on the call. A timeout at the sidecar is a transport
// failure that its circuit breaker counts; a burst of them on one busy key
// would cut every caller off the app for the breaker's open time. The margin
// is a tenth of the time left, 5 to 50 ms, and covers the way back.
func handlerTimeout(timeout time.Duration) time.Duration {
	margin := min(max(timeout/10, 5*time.Millisecond), 50*time.Millisecond)
	return max(timeout-margin, timeout/2)
}
