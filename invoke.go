package gamemesh

import (
	"context"
	"time"
)

// DefaultDeadline is the per-request deadline of a function call when the
// caller's context has none.
const DefaultDeadline = 300 * time.Millisecond

// Request is one call of a function method.
type Request struct {
	// App is the function app (the system part of a route), e.g. "mail".
	App string
	// Method is the handler name within the app, e.g. "send".
	Method string
	// Player is the authenticated player on whose behalf the call is made;
	// empty for service-to-service calls.
	Player PlayerID
	// ID identifies the request for idempotency: a retried request carries the
	// same ID. Gates derive it from the session and the client's sequence number.
	ID string
	// Body is the marshalled request message.
	Body []byte
}

// Invoker calls function methods. Invoke honours ctx's deadline (callers set
// one; DefaultDeadline is the convention) and returns the marshalled response,
// or an error whose code (CodeOf) is the function's.
type Invoker interface {
	Invoke(ctx context.Context, req Request) ([]byte, error)
}
