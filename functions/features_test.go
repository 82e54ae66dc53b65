package functions_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
)

// offSet is an in-test Features: apps in the set are switched off.
type offSet map[string]bool

func (o offSet) Enabled(app string) bool { return !o[app] }

func TestCallRefusesSwitchedOffApp(t *testing.T) {
	reg := functions.NewRegistry()
	var ran atomic.Int64
	count := func(_ context.Context, req gamemesh.Request) ([]byte, error) {
		ran.Add(1)
		return req.Body, nil
	}
	reg.Handle("mail", "list", functions.Method{Handler: count, Public: true})
	reg.Handle("mail", "svc", functions.Method{Handler: count})
	reg.Handle("player", "get", functions.Method{Handler: count, Public: true})
	ctx := context.Background()

	reg.SetFeatures(offSet{"mail": true})
	cases := []struct {
		name string
		req  gamemesh.Request
		want gamemesh.Code
	}{
		{"switched-off app, by player", gamemesh.Request{App: "mail", Method: "list", Player: "p1"}, gamemesh.CodeFeatureDisabled},
		{"switched-off app, by service", gamemesh.Request{App: "mail", Method: "svc"}, gamemesh.CodeFeatureDisabled},
		{"private method still unknown to players", gamemesh.Request{App: "mail", Method: "svc", Player: "p1"}, gamemesh.CodeUnknownRoute},
		{"unknown method still unknown", gamemesh.Request{App: "mail", Method: "nope"}, gamemesh.CodeUnknownRoute},
		{"other app", gamemesh.Request{App: "player", Method: "get", Player: "p1"}, gamemesh.CodeOK},
	}
	for _, c := range cases {
		_, err := reg.Call(ctx, c.req)
		if got := gamemesh.CodeOf(err); got != c.want {
			t.Errorf("%s: %v (%v), want %v", c.name, got, err, c.want)
		}
		if c.want == gamemesh.CodeFeatureDisabled && gamemesh.MessageOf(err) != "mail is switched off" {
			t.Errorf("%s: message %q", c.name, gamemesh.MessageOf(err))
		}
	}
	if n := ran.Load(); n != 1 {
		t.Fatalf("handlers ran %d times, want 1 (player.get only)", n)
	}

	reg.SetFeatures(nil)
	if _, err := reg.Call(ctx, gamemesh.Request{App: "mail", Method: "list", Player: "p1"}); err != nil {
		t.Fatalf("with no switches: %v", err)
	}
	reg.SetFeatures(offSet{})
	if _, err := reg.Call(ctx, gamemesh.Request{App: "mail", Method: "list", Player: "p1"}); err != nil {
		t.Fatalf("switched on: %v", err)
	}
}

// TestSetFeaturesWhileCalling swaps the switch source under concurrent calls;
// the race detector checks it.
func TestSetFeaturesWhileCalling(t *testing.T) {
	reg := functions.NewRegistry()
	reg.Handle("mail", "list", functions.Method{Handler: echo, Public: true})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 500 {
				_, err := reg.Call(context.Background(), gamemesh.Request{App: "mail", Method: "list", Player: "p1"})
				if c := gamemesh.CodeOf(err); c != gamemesh.CodeOK && c != gamemesh.CodeFeatureDisabled {
					t.Errorf("code %v", c)
					return
				}
			}
		})
	}
	for i := range 500 {
		switch i % 3 {
		case 0:
			reg.SetFeatures(offSet{"mail": true})
		case 1:
			reg.SetFeatures(nil)
		default:
			reg.SetFeatures(offSet{})
		}
	}
	wg.Wait()
}
