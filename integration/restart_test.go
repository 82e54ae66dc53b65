//go:build integration

package integration

import (
	"context"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/dapr"
	"github.com/gamemesh/gamemesh/functions"
)

// TestInvokerCalleeSidecarRestart measures what a function app's sidecar
// crash costs its callers: calls fail with UNAVAILABLE (quickly, within
// their deadline) while it is down, and succeed again once it is back on the
// same address. The recovery time includes the caller sidecar's gRPC
// reconnect backoff and, after repeated failures, the function circuit
// breaker's 5 s open state (sidecar-config/resiliency).
func TestInvokerCalleeSidecarRestart(t *testing.T) {
	r := StartRedis(t)
	reg := functions.NewRegistry()
	reg.Handle("mail", "ping", functions.Method{Handler: func(context.Context, gamemesh.Request) ([]byte, error) {
		return []byte("pong"), nil
	}})
	callee := serveRegistry(t, r, "mail", reg, "", freePort(t))
	caller := StartSidecar(t, r, SidecarOptions{AppID: "gate", Config: "gate.yaml"})
	inv := dapr.NewInvoker(caller.Client(t), dapr.InvokerOptions{})
	call := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), gamemesh.DefaultDeadline)
		defer cancel()
		_, err := inv.Invoke(ctx, gamemesh.Request{App: "mail", Method: "ping", ID: gamemesh.NewID()})
		return err
	}
	if err := call(); err != nil {
		t.Fatalf("before the crash: %v", err)
	}

	callee.Kill()
	for range 3 {
		began := time.Now()
		err := call()
		if code := gamemesh.CodeOf(err); code != gamemesh.CodeUnavailable && code != gamemesh.CodeDeadlineExceeded {
			t.Fatalf("call while the callee's sidecar is down: CodeOf = %v (%v), want UNAVAILABLE", code, err)
		}
		if d := time.Since(began); d > time.Second {
			t.Fatalf("a failing call took %v, want it bounded by its deadline", d)
		}
	}

	callee.Restart()
	back := time.Now()
	var last error
	if !waitUntil(30*time.Second, func() bool {
		last = call()
		if last != nil {
			time.Sleep(100 * time.Millisecond) // a client retrying at 10 Hz
		}
		return last == nil
	}) {
		t.Fatalf("calls did not recover within 30 s of the sidecar's return: %v", last)
	}
	t.Logf("calls recovered %v after the callee's sidecar was healthy again", time.Since(back).Round(10*time.Millisecond))
}
