package meshtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"sync"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
)

// InvokerApp is the app name under which TestInvoker registers its handlers.
const InvokerApp = "meshtest"

// TestInvoker runs the Invoker conformance cases. Each subtest registers its
// handlers in a fresh functions.Registry under app InvokerApp and passes it to
// newInvoker, which returns an Invoker that reaches that registry (directly,
// or through a served app and its sidecars).
func TestInvoker(t *testing.T, newInvoker func(t *testing.T, reg *functions.Registry) gamemesh.Invoker) {
	t.Run("Echo", func(t *testing.T) {
		var (
			mu   sync.Mutex
			seen gamemesh.Request
		)
		reg := functions.NewRegistry()
		reg.Handle(InvokerApp, "echo", functions.Method{
			Public:  true,
			MaxBody: 1 << 20,
			Handler: func(_ context.Context, req gamemesh.Request) ([]byte, error) {
				mu.Lock()
				seen = req
				seen.Body = bytes.Clone(req.Body)
				mu.Unlock()
				return bytes.Clone(req.Body), nil
			},
		})
		inv := newInvoker(t, reg)
		body := make([]byte, 64<<10)
		if _, err := rand.Read(body); err != nil {
			t.Fatal(err)
		}
		copy(body, []byte{0, 0xff, 0, '\r', '\n', 0x80})
		req := gamemesh.Request{App: InvokerApp, Method: "echo", Player: gamemesh.NewPlayerID(), ID: gamemesh.NewID(), Body: body}
		got, err := inv.Invoke(testContext(t), req)
		if err != nil {
			t.Fatalf("Invoke echo: %v", err)
		}
		if !bytes.Equal(got, body) {
			t.Fatalf("echoed body not byte-exact: got %d bytes, want %d", len(got), len(body))
		}
		mu.Lock()
		defer mu.Unlock()
		if seen.Player != req.Player || seen.ID != req.ID {
			t.Fatalf("handler saw Player %q ID %q, want %q %q", seen.Player, seen.ID, req.Player, req.ID)
		}
		if seen.App != InvokerApp || seen.Method != "echo" {
			t.Fatalf("handler saw route %s.%s, want %s.echo", seen.App, seen.Method, InvokerApp)
		}
		if !bytes.Equal(seen.Body, body) {
			t.Fatal("handler saw a body that is not byte-exact")
		}
	})

	t.Run("HandlerError", func(t *testing.T) {
		reg := functions.NewRegistry()
		reg.Handle(InvokerApp, "fail", functions.Method{
			Handler: func(context.Context, gamemesh.Request) ([]byte, error) {
				return nil, gamemesh.Errorf(gamemesh.CodeNotFound, "no such thing")
			},
		})
		inv := newInvoker(t, reg)
		_, err := inv.Invoke(testContext(t), gamemesh.Request{App: InvokerApp, Method: "fail", ID: gamemesh.NewID()})
		if code := gamemesh.CodeOf(err); code != gamemesh.CodeNotFound {
			t.Fatalf("CodeOf(err) = %v (err %v), want NOT_FOUND", code, err)
		}
		if msg := gamemesh.MessageOf(err); msg != "no such thing" {
			t.Fatalf("MessageOf(err) = %q, want %q", msg, "no such thing")
		}
	})

	t.Run("UnknownMethod", func(t *testing.T) {
		reg := functions.NewRegistry()
		reg.Handle(InvokerApp, "known", functions.Method{
			Handler: func(context.Context, gamemesh.Request) ([]byte, error) { return nil, nil },
		})
		inv := newInvoker(t, reg)
		_, err := inv.Invoke(testContext(t), gamemesh.Request{App: InvokerApp, Method: "unknown", ID: gamemesh.NewID()})
		if code := gamemesh.CodeOf(err); code != gamemesh.CodeUnknownRoute {
			t.Fatalf("CodeOf(err) = %v (err %v), want UNKNOWN_ROUTE", code, err)
		}
	})

	t.Run("Deadline", func(t *testing.T) {
		reg := functions.NewRegistry()
		reg.Handle(InvokerApp, "block", functions.Method{
			Handler: func(ctx context.Context, _ gamemesh.Request) ([]byte, error) {
				select {
				case <-ctx.Done():
					return nil, ctx.Err()
				case <-time.After(5 * time.Second):
					return []byte("too late"), nil
				}
			},
		})
		inv := newInvoker(t, reg)
		ctx, cancel := context.WithTimeout(testContext(t), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := inv.Invoke(ctx, gamemesh.Request{App: InvokerApp, Method: "block", ID: gamemesh.NewID()})
		if code := gamemesh.CodeOf(err); code != gamemesh.CodeDeadlineExceeded {
			t.Fatalf("CodeOf(err) = %v (err %v), want DEADLINE_EXCEEDED", code, err)
		}
		// A bound, not a performance check: the call must not wait for the handler.
		if elapsed := time.Since(start); elapsed > 3*time.Second {
			t.Fatalf("Invoke with a 100ms deadline returned after %v", elapsed)
		}
	})

	t.Run("DefaultDeadline", func(t *testing.T) {
		type seenDeadline struct {
			ok   bool
			left time.Duration
		}
		seen := make(chan seenDeadline, 1)
		reg := functions.NewRegistry()
		reg.Handle(InvokerApp, "deadline", functions.Method{
			Handler: func(ctx context.Context, _ gamemesh.Request) ([]byte, error) {
				dl, ok := ctx.Deadline()
				select { // non-blocking: a retrying backend may call twice
				case seen <- seenDeadline{ok: ok, left: time.Until(dl)}:
				default:
				}
				return nil, nil
			},
		})
		inv := newInvoker(t, reg)
		if _, err := inv.Invoke(context.Background(), gamemesh.Request{App: InvokerApp, Method: "deadline", ID: gamemesh.NewID()}); err != nil {
			t.Fatalf("Invoke without a caller deadline: %v", err)
		}
		got := <-seen
		if !got.ok {
			t.Fatal("handler saw no deadline; DefaultDeadline was not applied")
		}
		if got.left > gamemesh.DefaultDeadline {
			t.Fatalf("handler's deadline is %v away, want <= DefaultDeadline (%v)", got.left, gamemesh.DefaultDeadline)
		}
	})
}
