package dapr

import (
	"context"
	"errors"
	"testing"
	"time"

	commonv1pb "github.com/dapr/dapr/pkg/proto/common/v1"
	runtimev1pb "github.com/dapr/dapr/pkg/proto/runtime/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
)

// startApp serves reg as an App and stops it at the end of the test.
func startApp(t *testing.T, opts AppOptions) *App {
	t.Helper()
	opts.Logger = discardLogger()
	app, err := NewApp(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := app.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return app
}

type seenCall struct {
	req      gamemesh.Request
	deadline time.Duration
	hasDL    bool
}

func testRegistry(seen chan<- seenCall) *functions.Registry {
	reg := functions.NewRegistry()
	reg.Handle("mail", "echo", functions.Method{Public: true, Handler: func(ctx context.Context, req gamemesh.Request) ([]byte, error) {
		dl, ok := ctx.Deadline()
		seen <- seenCall{req: req, deadline: time.Until(dl), hasDL: ok}
		return req.Body, nil
	}})
	reg.Handle("mail", "fail", functions.Method{Public: true, Handler: func(context.Context, gamemesh.Request) ([]byte, error) {
		return nil, gamemesh.Wrap(gamemesh.CodeAlreadyDone, errors.New("internal detail"), "already claimed")
	}})
	reg.Handle("mail", "crash", functions.Method{Public: true, Handler: func(context.Context, gamemesh.Request) ([]byte, error) {
		panic("boom")
	}})
	reg.Handle("mail", "admin", functions.Method{Handler: func(context.Context, gamemesh.Request) ([]byte, error) {
		return []byte("ok"), nil
	}})
	return reg
}

func TestInvokeThroughApp(t *testing.T) {
	seen := make(chan seenCall, 4)
	app := startApp(t, AppOptions{Registry: testRegistry(seen), AppToken: "app-secret"})
	f := &fakeDaprd{}
	forwardTo(t, f, app, "app-secret")
	inv := NewInvoker(startFake(t, f), InvokerOptions{})
	player := gamemesh.NewPlayerID()

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	out, err := inv.Invoke(ctx, gamemesh.Request{App: "mail", Method: "echo", Player: player, ID: "req-1", Body: []byte{0, 1, 2}})
	cancel()
	if err != nil || string(out) != "\x00\x01\x02" {
		t.Fatalf("echo = %q, %v", out, err)
	}
	got := <-seen
	if got.req.Player != player || got.req.ID != "req-1" || got.req.App != "mail" || got.req.Method != "echo" {
		t.Fatalf("handler saw %+v", got.req)
	}
	// The handler gets the caller's time less a margin for the way back.
	if !got.hasDL || got.deadline > 180*time.Millisecond || got.deadline <= 0 {
		t.Fatalf("handler deadline %v (set %v), want within the caller's 200ms less 20ms", got.deadline, got.hasDL)
	}
	// A caller with all the time in the world still has the sidecars'
	// function timeout (300 ms) per attempt: the handler answers before it.
	ctx, cancel = context.WithTimeout(t.Context(), 10*time.Second)
	_, err = inv.Invoke(ctx, gamemesh.Request{App: "mail", Method: "echo", ID: "req-3"})
	cancel()
	if got = <-seen; err != nil || got.deadline > 270*time.Millisecond || got.deadline < 200*time.Millisecond {
		t.Fatalf("handler deadline %v for a caller with 10s (%v), want about 300ms less 30ms", got.deadline, err)
	}

	_, err = inv.Invoke(t.Context(), gamemesh.Request{App: "mail", Method: "fail", ID: "req-2"})
	if gamemesh.CodeOf(err) != gamemesh.CodeAlreadyDone || gamemesh.MessageOf(err) != "already claimed" {
		t.Fatalf("business error = %v, want ALREADY_DONE \"already claimed\"", err)
	}
	if errors.Unwrap(err) != nil {
		t.Fatalf("internal cause crossed the wire: %v", err)
	}
	for method, want := range map[string]gamemesh.Code{
		"crash":   gamemesh.CodeInternal,
		"missing": gamemesh.CodeUnknownRoute,
		"admin":   gamemesh.CodeUnknownRoute, // private method called for a player
	} {
		_, err := inv.Invoke(t.Context(), gamemesh.Request{App: "mail", Method: method, Player: player, ID: "r"})
		if code := gamemesh.CodeOf(err); code != want {
			t.Errorf("%s: CodeOf = %v (%v), want %v", method, code, err, want)
		}
	}
	if out, err := inv.Invoke(t.Context(), gamemesh.Request{App: "mail", Method: "admin", ID: "r"}); err != nil || string(out) != "ok" {
		t.Errorf("private method called by a service: %q, %v", out, err)
	}
}

func TestInvokeBadInput(t *testing.T) {
	f := &fakeDaprd{invoke: func(context.Context, *runtimev1pb.InvokeServiceRequest) (*commonv1pb.InvokeResponse, error) {
		t.Error("bad input reached the sidecar")
		return nil, errors.New("unexpected")
	}}
	inv := NewInvoker(startFake(t, f), InvokerOptions{})
	for name, req := range map[string]gamemesh.Request{
		"bad route":  {App: "mail", Method: "a.b"},
		"empty app":  {Method: "send"},
		"bad player": {App: "mail", Method: "send", Player: "Not A Player"},
	} {
		if _, err := inv.Invoke(t.Context(), req); gamemesh.CodeOf(err) == gamemesh.CodeOK {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestInvokeAppTokenRequired(t *testing.T) {
	seen := make(chan seenCall, 1)
	app := startApp(t, AppOptions{Registry: testRegistry(seen), AppToken: "app-secret"})
	f := &fakeDaprd{}
	forwardTo(t, f, app, "wrong")
	inv := NewInvoker(startFake(t, f), InvokerOptions{})
	_, err := inv.Invoke(t.Context(), gamemesh.Request{App: "mail", Method: "echo", ID: "r"})
	if code := gamemesh.CodeOf(err); code != gamemesh.CodePermissionDenied {
		t.Fatalf("call with a wrong app token: %v, want PERMISSION_DENIED", err)
	}
	if len(seen) != 0 {
		t.Fatal("handler ran for a call with a wrong app token")
	}
}

func TestInvokeTransportErrors(t *testing.T) {
	cases := []struct {
		name string
		resp *commonv1pb.InvokeResponse
		err  error
		want gamemesh.Code
	}{
		{"unavailable", nil, status.Error(codes.Unavailable, "no route"), gamemesh.CodeUnavailable},
		{"internal", nil, status.Error(codes.Internal, "failed to invoke, id: mail"), gamemesh.CodeUnavailable},
		{"deadline", nil, status.Error(codes.DeadlineExceeded, "slow"), gamemesh.CodeDeadlineExceeded},
		{"remote deadline", nil, status.Error(codes.Internal, "failed to invoke: rpc error: code = DeadlineExceeded"), gamemesh.CodeDeadlineExceeded},
		{"garbage", &commonv1pb.InvokeResponse{Data: &anypb.Any{Value: []byte{0xff, 0xff}}}, nil, gamemesh.CodeInternal},
		{"empty", &commonv1pb.InvokeResponse{}, nil, gamemesh.CodeInternal},
	}
	for _, c := range cases {
		f := &fakeDaprd{invoke: func(context.Context, *runtimev1pb.InvokeServiceRequest) (*commonv1pb.InvokeResponse, error) {
			return c.resp, c.err
		}}
		inv := NewInvoker(startFake(t, f), InvokerOptions{AppIDs: map[string]string{"mail": "functions"}})
		_, err := inv.Invoke(t.Context(), gamemesh.Request{App: "mail", Method: "send", ID: "r"})
		if code := gamemesh.CodeOf(err); code != c.want {
			t.Errorf("%s: CodeOf = %v (%v), want %v", c.name, code, err, c.want)
		}
	}
}

func TestInvokerMapsAppIDs(t *testing.T) {
	got := make(chan string, 1)
	f := &fakeDaprd{invoke: func(_ context.Context, in *runtimev1pb.InvokeServiceRequest) (*commonv1pb.InvokeResponse, error) {
		got <- in.GetId() + " " + in.GetMessage().GetMethod()
		return &commonv1pb.InvokeResponse{Data: &anypb.Any{Value: encodeResult([]byte("x"), nil)}}, nil
	}}
	inv := NewInvoker(startFake(t, f), InvokerOptions{AppIDs: map[string]string{"mail": "functions"}})
	if _, err := inv.Invoke(t.Context(), gamemesh.Request{App: "mail", Method: "send", ID: "r"}); err != nil {
		t.Fatal(err)
	}
	if g := <-got; g != "functions mail.send" {
		t.Fatalf("invoked %q, want app id functions, method mail.send", g)
	}
}

func TestResultEnvelope(t *testing.T) {
	body, err := decodeResult(encodeResult([]byte{}, nil))
	if err != nil || len(body) != 0 {
		t.Fatalf("empty body round trip: %q, %v", body, err)
	}
	_, err = decodeResult(encodeResult(nil, errors.New("plain")))
	if gamemesh.CodeOf(err) != gamemesh.CodeInternal || gamemesh.MessageOf(err) != "internal error" {
		t.Fatalf("plain error crosses as %v", err)
	}
}
