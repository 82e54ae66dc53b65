package embedded

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
)

func newTestInvoker(t *testing.T, method string, h functions.Handler) gamemesh.Invoker {
	t.Helper()
	reg := functions.NewRegistry()
	reg.Handle("app", method, functions.Method{Handler: h})
	return NewInvoker(reg, testLogger(t))
}

func call(t *testing.T, inv gamemesh.Invoker, ctx context.Context, method string, body []byte) ([]byte, error) {
	t.Helper()
	return inv.Invoke(ctx, gamemesh.Request{App: "app", Method: method, ID: gamemesh.NewID(), Body: body})
}

func TestInvokerPanicIsInternal(t *testing.T) {
	inv := newTestInvoker(t, "boom", func(context.Context, gamemesh.Request) ([]byte, error) { panic("secret detail") })
	_, err := call(t, inv, t.Context(), "boom", nil)
	if gamemesh.CodeOf(err) != gamemesh.CodeInternal || gamemesh.MessageOf(err) != "internal error" {
		t.Fatalf("panicking handler: err = %v, want INTERNAL with a generic message", err)
	}
}

func TestInvokerForeignErrorIsInternal(t *testing.T) {
	cause := errors.New("connection to db refused at 10.0.0.3")
	inv := newTestInvoker(t, "fail", func(context.Context, gamemesh.Request) ([]byte, error) { return nil, cause })
	_, err := call(t, inv, t.Context(), "fail", nil)
	if gamemesh.CodeOf(err) != gamemesh.CodeInternal || gamemesh.MessageOf(err) != "internal error" {
		t.Fatalf("err = %v (message %q), want INTERNAL with a generic message", err, gamemesh.MessageOf(err))
	}
	if !errors.Is(err, cause) {
		t.Fatal("the cause is not kept in the error chain")
	}
}

func TestInvokerDeadlineWithHandlerIgnoringContext(t *testing.T) {
	release, finished := make(chan struct{}), make(chan struct{})
	inv := newTestInvoker(t, "stuck", func(context.Context, gamemesh.Request) ([]byte, error) {
		defer close(finished)
		<-release // ignores ctx entirely
		return []byte("late"), nil
	})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := call(t, inv, ctx, "stuck", nil)
	if gamemesh.CodeOf(err) != gamemesh.CodeDeadlineExceeded {
		t.Fatalf("err = %v, want DEADLINE_EXCEEDED", err)
	}
	close(release) // the handler's goroutine ends when the handler does
	<-finished
}

func TestInvokerCancelledContext(t *testing.T) {
	var called atomic.Bool
	inv := newTestInvoker(t, "m", func(context.Context, gamemesh.Request) ([]byte, error) { called.Store(true); return nil, nil })
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := call(t, inv, ctx, "m", nil); gamemesh.CodeOf(err) != gamemesh.CodeUnavailable {
		t.Fatalf("err = %v, want UNAVAILABLE", err)
	}
	if called.Load() {
		t.Fatal("handler ran for a cancelled call")
	}
}

func TestInvokerCopiesBodies(t *testing.T) {
	kept := make(chan []byte, 1)
	inv := newTestInvoker(t, "scribble", func(_ context.Context, req gamemesh.Request) ([]byte, error) {
		req.Body[0] = 'X' // must not reach the caller's slice
		resp := []byte("response")
		kept <- resp // the handler keeps its response buffer
		return resp, nil
	})
	body := []byte("request")
	got, err := call(t, inv, t.Context(), "scribble", body)
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != "request" {
		t.Fatalf("handler changed the caller's body to %q", body)
	}
	(<-kept)[0] = 'Y'
	if string(got) != "response" {
		t.Fatalf("handler's later change reached the caller's response: %q", got)
	}
}
