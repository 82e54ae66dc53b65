//go:build integration

package integration

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/dapr"
	"github.com/gamemesh/gamemesh/functions"
	"github.com/gamemesh/gamemesh/meshtest"
)

// serveRegistry serves reg as a Dapr app behind its own sidecar (app id
// appID) and returns the sidecar.
func serveRegistry(t *testing.T, r *Redis, appID string, reg *functions.Registry, appToken string, internalPort int) *Sidecar {
	t.Helper()
	app := startApp(t, dapr.AppOptions{Registry: reg, PubSub: "pubsub", AppToken: appToken}, nil)
	return StartSidecar(t, r, SidecarOptions{AppID: appID, AppPort: app.Port(), AppToken: appToken, InternalPort: internalPort})
}

// TestInvokerConformance runs the invoker suite through two sidecars: a
// caller's (gate) and the app's, serving the suite's "meshtest" app under a
// Dapr app id of its own per subtest (mapped with InvokerOptions.AppIDs).
// A fresh app id per subtest, because a callee sidecar that went away leaves
// the caller's sidecar with a connection in gRPC reconnect backoff and, for
// apps with a resiliency policy, a circuit breaker that trips on it (see
// TestInvokerCalleeRestart).
func TestInvokerConformance(t *testing.T) {
	r := StartRedis(t)
	caller := StartSidecar(t, r, SidecarOptions{AppID: "gate", Config: "gate.yaml"})
	client := caller.Client(t)
	n := 0
	meshtest.TestInvoker(t, func(t *testing.T, reg *functions.Registry) gamemesh.Invoker {
		n++
		appID := fmt.Sprintf("meshtest-%d-%s", n, gamemesh.NewID()[:6])
		serveRegistry(t, r, appID, reg, "", 0)
		inv := dapr.NewInvoker(client, dapr.InvokerOptions{AppIDs: map[string]string{meshtest.InvokerApp: appID}})
		waitReachable(t, inv, meshtest.InvokerApp)
		return inv
	})
}

// waitReachable waits until inv reaches app's server (an unknown method then
// answers UNKNOWN_ROUTE from the app itself). A caller's sidecar keeps its
// gRPC connection to a callee sidecar that went away and redials it with
// gRPC's backoff (1 s, then growing): right after the callee's sidecar comes
// back, calls may still fail for a moment.
func waitReachable(t *testing.T, inv gamemesh.Invoker, app string) {
	t.Helper()
	began := time.Now()
	var err error
	if !waitUntil(30*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err = inv.Invoke(ctx, gamemesh.Request{App: app, Method: "reachability_probe", ID: gamemesh.NewID()})
		return gamemesh.CodeOf(err) == gamemesh.CodeUnknownRoute
	}) {
		t.Fatalf("app %s not reachable through the sidecars: %v", app, err)
	}
	if d := time.Since(began); d > 100*time.Millisecond {
		t.Logf("app %s reachable after %v", app, d.Round(time.Millisecond))
	}
}

// TestInvokerTransport: tokens, private methods and transport failures.
func TestInvokerTransport(t *testing.T) {
	r := StartRedis(t)
	reg := functions.NewRegistry()
	reg.Handle("mail", "ping", functions.Method{Public: true, Handler: func(context.Context, gamemesh.Request) ([]byte, error) {
		return []byte("pong"), nil
	}})
	reg.Handle("mail", "admin", functions.Method{Handler: func(context.Context, gamemesh.Request) ([]byte, error) {
		return []byte("secret"), nil
	}})
	const apiToken, appToken = "caller-api-token", "app-channel-token"
	serveRegistry(t, r, "mail", reg, appToken, 0)
	caller := StartSidecar(t, r, SidecarOptions{AppID: "gate", Config: "gate.yaml", APIToken: apiToken})
	inv := dapr.NewInvoker(caller.Client(t), dapr.InvokerOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	player := gamemesh.NewPlayerID()

	t.Run("TokensAccepted", func(t *testing.T) {
		out, err := inv.Invoke(ctx, gamemesh.Request{App: "mail", Method: "ping", Player: player, ID: gamemesh.NewID()})
		if err != nil || string(out) != "pong" {
			t.Fatalf("Invoke = %q, %v; want pong", out, err)
		}
	})
	t.Run("PrivateMethodForPlayer", func(t *testing.T) {
		_, err := inv.Invoke(ctx, gamemesh.Request{App: "mail", Method: "admin", Player: player, ID: gamemesh.NewID()})
		if code := gamemesh.CodeOf(err); code != gamemesh.CodeUnknownRoute {
			t.Fatalf("private method called for a player: CodeOf = %v (%v), want UNKNOWN_ROUTE", code, err)
		}
		out, err := inv.Invoke(ctx, gamemesh.Request{App: "mail", Method: "admin", ID: gamemesh.NewID()})
		if err != nil || string(out) != "secret" {
			t.Fatalf("private method called by a service = %q, %v", out, err)
		}
	})
	t.Run("MissingAPIToken", func(t *testing.T) {
		c, err := dapr.Dial(dapr.Options{Address: caller.GRPCAddr(), Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, err = dapr.NewInvoker(c, dapr.InvokerOptions{}).Invoke(ctx, gamemesh.Request{App: "mail", Method: "ping", ID: gamemesh.NewID()})
		if code := gamemesh.CodeOf(err); code != gamemesh.CodeUnavailable {
			t.Fatalf("call without DAPR_API_TOKEN: CodeOf = %v (%v), want UNAVAILABLE", code, err)
		}
	})
	t.Run("WrongAppToken", func(t *testing.T) {
		// The app requires a token its sidecar does not send.
		reg := functions.NewRegistry()
		reg.Handle("player", "ping", functions.Method{Handler: func(context.Context, gamemesh.Request) ([]byte, error) { return nil, nil }})
		app := startApp(t, dapr.AppOptions{Registry: reg, AppToken: "expected"}, nil)
		StartSidecar(t, r, SidecarOptions{AppID: "player", AppPort: app.Port(), AppToken: "something-else"})
		_, err := inv.Invoke(ctx, gamemesh.Request{App: "player", Method: "ping", ID: gamemesh.NewID()})
		if code := gamemesh.CodeOf(err); code != gamemesh.CodePermissionDenied {
			t.Fatalf("call with a wrong app token: CodeOf = %v (%v), want PERMISSION_DENIED", code, err)
		}
	})
	t.Run("NoSuchApp", func(t *testing.T) {
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
		defer ccancel()
		_, err := inv.Invoke(cctx, gamemesh.Request{App: "nobody", Method: "ping", ID: gamemesh.NewID()})
		if code := gamemesh.CodeOf(err); code != gamemesh.CodeUnavailable && code != gamemesh.CodeDeadlineExceeded {
			t.Fatalf("call to an app nobody serves: CodeOf = %v (%v), want UNAVAILABLE", code, err)
		}
	})
}
