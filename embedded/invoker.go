package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
)

// NewInvoker returns an Invoker that calls reg in process, with the rules a
// sidecar hop would apply:
//
//   - a caller context without a deadline gets gamemesh.DefaultDeadline;
//   - the deadline holds even if the handler ignores its context: the handler
//     runs in its own goroutine and Invoke returns DEADLINE_EXCEEDED when the
//     context is done (the goroutine finishes when the handler returns, and
//     its result is discarded);
//   - request and response bodies are copied, so caller and handler never
//     share memory;
//   - a handler panic becomes INTERNAL (logged with its stack), and an error
//     that is not a *gamemesh.Error becomes INTERNAL with a generic message
//     (the cause is kept as Err and logged).
//
// A nil logger discards logs.
func NewInvoker(reg *functions.Registry, logger *slog.Logger) gamemesh.Invoker {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &invoker{reg: reg, log: logger.With("component", "embedded.invoker")}
}

type invoker struct {
	reg *functions.Registry
	log *slog.Logger
}

type callResult struct {
	body []byte
	err  error
}

// Invoke implements gamemesh.Invoker.
func (i *invoker) Invoke(ctx context.Context, req gamemesh.Request) ([]byte, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, gamemesh.DefaultDeadline)
		defer cancel()
	}
	if err := ctx.Err(); err != nil {
		return nil, contextError(err)
	}
	req.Body = bytes.Clone(req.Body)
	done := make(chan callResult, 1) // buffered: a late handler never blocks
	go func() {
		body, err := i.call(ctx, req)
		done <- callResult{body: bytes.Clone(body), err: err}
	}()
	select {
	case r := <-done:
		return r.body, r.err
	case <-ctx.Done():
		return nil, contextError(ctx.Err())
	}
}

// call runs reg.Call, turning a panic or a foreign error into INTERNAL.
func (i *invoker) call(ctx context.Context, req gamemesh.Request) (body []byte, err error) {
	log := i.log.With("app", req.App, "method", req.Method, "id", req.ID)
	defer func() {
		if r := recover(); r != nil {
			log.Error("function handler panicked", "panic", r, "stack", string(debug.Stack()))
			body, err = nil, gamemesh.Wrap(gamemesh.CodeInternal, fmt.Errorf("panic: %v", r), "internal error")
		}
	}()
	body, err = i.reg.Call(ctx, req)
	if err == nil {
		return body, nil
	}
	var ge *gamemesh.Error
	switch {
	case errors.As(err, &ge):
		return nil, err
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return nil, contextError(err)
	}
	log.Error("function handler failed", "err", err)
	return nil, gamemesh.Wrap(gamemesh.CodeInternal, err, "internal error")
}

// contextError turns a context error into DEADLINE_EXCEEDED or UNAVAILABLE.
func contextError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return gamemesh.Wrap(gamemesh.CodeDeadlineExceeded, err, "deadline exceeded")
	}
	return gamemesh.Wrap(gamemesh.CodeUnavailable, err, "call cancelled")
}
