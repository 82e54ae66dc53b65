package functions_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

func echo(_ context.Context, req gamemesh.Request) ([]byte, error) { return req.Body, nil }

func TestCallChecks(t *testing.T) {
	reg := functions.NewRegistry()
	reg.Handle("demo", "pub", functions.Method{Handler: echo, Public: true, MaxBody: 8})
	reg.Handle("demo", "svc", functions.Method{Handler: echo})
	ctx := context.Background()
	cases := []struct {
		name string
		req  gamemesh.Request
		want gamemesh.Code
	}{
		{"public by player", gamemesh.Request{App: "demo", Method: "pub", Player: "p1", Body: []byte("hi")}, gamemesh.CodeOK},
		{"public by service", gamemesh.Request{App: "demo", Method: "pub", Body: []byte("hi")}, gamemesh.CodeOK},
		{"service by service", gamemesh.Request{App: "demo", Method: "svc"}, gamemesh.CodeOK},
		{"service by player", gamemesh.Request{App: "demo", Method: "svc", Player: "p1"}, gamemesh.CodeUnknownRoute},
		{"unknown method", gamemesh.Request{App: "demo", Method: "nope"}, gamemesh.CodeUnknownRoute},
		{"unknown app", gamemesh.Request{App: "nope", Method: "pub"}, gamemesh.CodeUnknownRoute},
		{"body too large", gamemesh.Request{App: "demo", Method: "pub", Body: []byte("123456789")}, gamemesh.CodeBodyTooLarge},
	}
	for _, c := range cases {
		_, err := reg.Call(ctx, c.req)
		if got := gamemesh.CodeOf(err); got != c.want {
			t.Errorf("%s: %v (%v), want %v", c.name, got, err, c.want)
		}
	}
}

func TestDefaultMaxBody(t *testing.T) {
	reg := functions.NewRegistry()
	reg.Handle("demo", "m", functions.Method{Handler: echo})
	if m, _ := reg.Lookup("demo", "m"); m.MaxBody != functions.DefaultMaxBody {
		t.Fatalf("MaxBody %d, want the default %d", m.MaxBody, functions.DefaultMaxBody)
	}
}

func mustPanic(t *testing.T, what string, fn func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s did not panic", what)
		}
	}()
	fn()
}

func TestWiringMistakesPanic(t *testing.T) {
	reg := functions.NewRegistry()
	reg.Handle("demo", "m", functions.Method{Handler: echo})
	mustPanic(t, "duplicate", func() { reg.Handle("demo", "m", functions.Method{Handler: echo}) })
	mustPanic(t, "nil handler", func() { reg.Handle("demo", "x", functions.Method{}) })
	mustPanic(t, "bad name", func() { reg.Handle("de.mo", "x", functions.Method{Handler: echo}) })
	mustPanic(t, "bad subscription", func() { reg.Subscribe("demo", gamemesh.Subscription{}) })
}

func TestRegistryListing(t *testing.T) {
	reg := functions.NewRegistry()
	reg.Handle("b", "y", functions.Method{Handler: echo})
	reg.Handle("a", "z", functions.Method{Handler: echo})
	reg.Handle("a", "x", functions.Method{Handler: echo})
	reg.Subscribe("a", gamemesh.Subscription{Topic: "t", Handler: func(context.Context, gamemesh.Event) error { return nil }})
	if got := strings.Join(reg.Apps(), ","); got != "a,b" {
		t.Errorf("Apps = %s", got)
	}
	if got := strings.Join(reg.Methods("a"), ","); got != "x,z" {
		t.Errorf("Methods(a) = %s", got)
	}
	if subs := reg.Subscriptions(); len(subs) != 1 || subs[0].Group != "a" {
		t.Errorf("Subscriptions = %+v, want one with group defaulted to the app", subs)
	}
}

func TestTypedRefusesMalformedBody(t *testing.T) {
	ran := false
	h := functions.Typed(func() *gamev1.ReadMailRequest { return new(gamev1.ReadMailRequest) },
		func(context.Context, gamemesh.Request, *gamev1.ReadMailRequest) (*gamev1.ReadMailResponse, error) {
			ran = true
			return &gamev1.ReadMailResponse{}, nil
		})
	_, err := h(context.Background(), gamemesh.Request{App: "mail", Method: "read", Body: []byte{0xff, 0xff, 0xff}})
	if gamemesh.CodeOf(err) != gamemesh.CodeBadRequest || ran {
		t.Fatalf("garbage body: %v (handler ran: %v), want BAD_REQUEST without running", err, ran)
	}
}

func TestCaller(t *testing.T) {
	if p, err := functions.Caller(gamemesh.Request{App: "a", Method: "m", Player: "p1"}); err != nil || p != "p1" {
		t.Fatalf("player call: %q %v", p, err)
	}
	if _, err := functions.Caller(gamemesh.Request{App: "a", Method: "m"}); gamemesh.CodeOf(err) != gamemesh.CodeNotLoggedIn {
		t.Fatalf("service call: %v, want NOT_LOGGED_IN", err)
	}
	if _, err := functions.Caller(gamemesh.Request{Player: "../p"}); gamemesh.CodeOf(err) != gamemesh.CodeBadRequest {
		t.Fatalf("malformed player: %v, want BAD_REQUEST", err)
	}
}
