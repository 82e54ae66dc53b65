package dapr

import (
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
	// mdTimeout is the caller's remaining time in milliseconds: daprd's gRPC
	// app channel calls the app with context.Background(), so the deadline is
	// carried explicitly.
	mdTimeout = "gamemesh-timeout-ms"

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

// formatTimeout renders the time left until deadline for mdTimeout (at least 1 ms).
func formatTimeout(left time.Duration) string {
	ms := left.Milliseconds()
	if ms < 1 {
		ms = 1
	}
	return strconv.FormatInt(ms, 10)
}

// parseTimeout reads mdTimeout; ok is false when absent or malformed.
func parseTimeout(v string) (time.Duration, bool) {
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms <= 0 {
		return 0, false
	}
	return time.Duration(ms) * time.Millisecond, true
}
