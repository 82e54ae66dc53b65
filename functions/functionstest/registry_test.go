package functionstest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	"github.com/gamemesh/gamemesh/functions/functionstest"
)

// echoRegistry serves test.exists, answering whether the caller is a player,
// and counts events on topic "t".
func echoRegistry(t *testing.T, seen *[]gamemesh.Event) *functions.Registry {
	reg := functions.NewRegistry()
	reg.Handle("test", "exists", functions.Method{Public: true, Handler: functions.Typed(
		func() *gamev1.PlayerExistsRequest { return new(gamev1.PlayerExistsRequest) },
		func(_ context.Context, req gamemesh.Request, in *gamev1.PlayerExistsRequest) (*gamev1.PlayerExistsResponse, error) {
			if req.ID == "" {
				return nil, errors.New("no request id")
			}
			return &gamev1.PlayerExistsResponse{Exists: req.Player != "" && in.PlayerId == string(req.Player)}, nil
		})})
	reg.Subscribe("test", gamemesh.Subscription{Topic: "t", Handler: func(_ context.Context, ev gamemesh.Event) error {
		*seen = append(*seen, ev)
		if string(ev.Data) == "bad" {
			return errors.New("bad event")
		}
		return nil
	}})
	return reg
}

func TestCallAsAndInvoker(t *testing.T) {
	reg := echoRegistry(t, new([]gamemesh.Event))
	ctx := functionstest.Context(t)
	p := gamemesh.NewPlayerID()
	out := new(gamev1.PlayerExistsResponse)
	if err := functionstest.CallAs(ctx, reg, p, "", "test", "exists", &gamev1.PlayerExistsRequest{PlayerId: string(p)}, out); err != nil {
		t.Fatal(err)
	}
	if !out.Exists {
		t.Fatal("CallAs did not call as the player")
	}
	err := functionstest.CallAs(ctx, reg, p, "", "test", "missing", &gamev1.PlayerExistsRequest{}, out)
	functionstest.WantCode(t, err, gamemesh.CodeUnknownRoute)

	_, err = functionstest.Invoker{Registry: reg}.Invoke(ctx, gamemesh.Request{App: "test", Method: "missing", ID: gamemesh.NewID()})
	functionstest.WantCode(t, err, gamemesh.CodeUnknownRoute)
}

func TestBus(t *testing.T) {
	var seen []gamemesh.Event
	reg := echoRegistry(t, &seen)
	ctx := functionstest.Context(t)

	rec := &functionstest.Bus{}
	if err := rec.Publish(ctx, "t", gamemesh.Event{ID: "1"}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 0 {
		t.Fatal("a Bus without a registry delivered")
	}

	b := &functionstest.Bus{Registry: reg}
	for _, ev := range []gamemesh.Event{{ID: "2"}, {ID: "3", Data: []byte("bad")}} {
		if err := b.Publish(ctx, "t", ev); err != nil {
			t.Fatalf("Publish: %v", err)
		}
	}
	if err := b.Publish(ctx, "other", gamemesh.Event{ID: "4"}); err != nil {
		t.Fatal(err)
	}
	got := b.Published()
	if len(got) != 3 || got[0].ID != "2" || got[0].Topic != "t" || got[0].Attempt != 1 || got[2].Topic != "other" {
		t.Fatalf("Published = %+v", got)
	}
	if len(seen) != 2 || seen[1].ID != "3" {
		t.Fatalf("delivered %+v, want events 2 and 3", seen)
	}
	if errs := b.Errors(); len(errs) != 1 {
		t.Fatalf("Errors = %v, want the one handler error", errs)
	}
	if len(rec.Published()) != 1 || len(rec.Errors()) != 0 {
		t.Fatal("recording-only Bus lost its event")
	}
}

func TestClock(t *testing.T) {
	c := functionstest.NewClock()
	if !c.Now().Equal(functionstest.Start) {
		t.Fatalf("Now = %v, want %v", c.Now(), functionstest.Start)
	}
	c.Advance(time.Hour)
	if got := c.Now().Sub(functionstest.Start); got != time.Hour {
		t.Fatalf("advanced by %v, want 1h", got)
	}
}
