package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/client"
	"github.com/gamemesh/gamemesh/client/clienttest"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// testBackend answers the routes these tests use.
type testBackend struct {
	started chan struct{} // test.wait has begun
	release chan struct{} // closed by the test to let test.wait answer
}

func newBackend() *testBackend {
	return &testBackend{started: make(chan struct{}, 1), release: make(chan struct{})}
}

func (b *testBackend) handle(ctx context.Context, player gamemesh.PlayerID, route string, body []byte) ([]byte, error) {
	switch route {
	case "test.echo":
		return body, nil
	case "test.wait":
		b.started <- struct{}{}
		select {
		case <-b.release:
			return body, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	case "test.block":
		<-ctx.Done()
		return nil, ctx.Err()
	case "test.fail":
		return nil, gamemesh.Errorf(gamemesh.CodeNotFound, "no such thing")
	case "test.big":
		return make([]byte, 2000), nil
	case "player.get":
		return proto.Marshal(&gamev1.GetPlayerResponse{Player: &gamev1.PlayerRecord{
			PlayerId: string(player), Inventory: map[string]int64{"gold": 7},
		}})
	}
	return nil, gamemesh.Errorf(gamemesh.CodeUnknownRoute, "unknown route %s", route)
}

func TestCallEchoAndTyped(t *testing.T) {
	b := newBackend()
	s := start(t, clienttest.Config{Handler: b.handle})
	for name, addr := range addrs(s) {
		t.Run(name, func(t *testing.T) {
			player := gamemesh.NewPlayerID()
			c := dial(t, s, addr, player, client.Options{})
			got, err := c.CallRaw(ctxT(t), "test.echo", []byte("hello"))
			if err != nil || string(got) != "hello" {
				t.Fatalf("echo = %q, %v", got, err)
			}
			var resp gamev1.GetPlayerResponse
			if err := c.Call(ctxT(t), "player.get", &gamev1.GetPlayerRequest{}, &resp); err != nil {
				t.Fatal(err)
			}
			if resp.GetPlayer().GetPlayerId() != string(player) || resp.GetPlayer().GetInventory()["gold"] != 7 {
				t.Fatalf("player.get = %v", &resp)
			}
		})
	}
}

func TestCallConcurrent(t *testing.T) {
	b := newBackend()
	s := start(t, clienttest.Config{Handler: b.handle})
	for name, addr := range addrs(s) {
		t.Run(name, func(t *testing.T) {
			c := dial(t, s, addr, gamemesh.NewPlayerID(), client.Options{})
			ctx := ctxT(t)
			var wg sync.WaitGroup
			errs := make(chan error, 100)
			for i := range 100 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					want := []byte(fmt.Sprintf("body-%d", i))
					got, err := c.CallRaw(ctx, "test.echo", want)
					if err == nil && !bytes.Equal(got, want) {
						err = fmt.Errorf("call %d got %q", i, got)
					}
					if err != nil {
						errs <- err
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

// The gate answers a later request first; each caller still gets its own answer.
func TestCallOutOfOrder(t *testing.T) {
	b := newBackend()
	s := start(t, clienttest.Config{Handler: b.handle})
	c := dial(t, s, s.TCPAddr(), gamemesh.NewPlayerID(), client.Options{})
	ctx := ctxT(t)
	type res struct {
		body []byte
		err  error
	}
	slow := make(chan res, 1)
	go func() {
		body, err := c.CallRaw(ctx, "test.wait", []byte("first"))
		slow <- res{body, err}
	}()
	<-b.started
	got, err := c.CallRaw(ctx, "test.echo", []byte("second"))
	if err != nil || string(got) != "second" {
		t.Fatalf("second call = %q, %v", got, err)
	}
	select {
	case r := <-slow:
		t.Fatalf("first call answered before its release: %q, %v", r.body, r.err)
	default:
	}
	close(b.release)
	r := <-slow
	if r.err != nil || string(r.body) != "first" {
		t.Fatalf("first call = %q, %v", r.body, r.err)
	}
}

func TestCallErrors(t *testing.T) {
	b := newBackend()
	s := start(t, clienttest.Config{Handler: b.handle})
	c := dial(t, s, s.TCPAddr(), gamemesh.NewPlayerID(), client.Options{})
	ctx := ctxT(t)

	_, err := c.CallRaw(ctx, "test.fail", nil)
	wantCode(t, err, gamemesh.CodeNotFound)
	if !errors.Is(err, gamemesh.ErrNotFound) || gamemesh.MessageOf(err) != "no such thing" {
		t.Fatalf("err = %v, want NOT_FOUND with the gate's message", err)
	}
	_, err = c.CallRaw(ctx, "test.nothing", nil)
	wantCode(t, err, gamemesh.CodeUnknownRoute)
	_, err = c.CallRaw(ctx, "nodot", nil)
	wantCode(t, err, gamemesh.CodeInvalidArgument)

	// A response that is not the expected message.
	err = c.Call(ctx, "test.echo", &gamev1.ClaimMailRequest{MailId: "x"}, &gamev1.GetPlayerResponse{Player: &gamev1.PlayerRecord{}})
	wantCode(t, err, gamemesh.CodeProtocol)
	if _, err := c.CallRaw(ctx, "test.echo", []byte{0xff, 0xff}); err != nil {
		t.Fatalf("session must survive refused calls: %v", err)
	}
}

func TestCallDeadline(t *testing.T) {
	b := newBackend()
	s := start(t, clienttest.Config{Handler: b.handle})
	c := dial(t, s, s.TCPAddr(), gamemesh.NewPlayerID(), client.Options{})

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.CallRaw(ctx, "test.block", nil)
	wantCode(t, err, gamemesh.CodeDeadlineExceeded)

	cctx, ccancel := context.WithCancel(context.Background())
	ccancel()
	_, err = c.CallRaw(cctx, "test.echo", nil)
	wantCode(t, err, gamemesh.CodeUnavailable)

	if got, err := c.CallRaw(ctxT(t), "test.echo", []byte("still")); err != nil || string(got) != "still" {
		t.Fatalf("after a timed-out call: %q, %v", got, err)
	}
}

func TestFrameLimits(t *testing.T) {
	b := newBackend()
	s := start(t, clienttest.Config{Handler: b.handle})
	for name, addr := range addrs(s) {
		t.Run(name, func(t *testing.T) {
			c := dial(t, s, addr, gamemesh.NewPlayerID(), client.Options{MaxFrame: 1024})
			_, err := c.CallRaw(ctxT(t), "test.echo", make([]byte, 2000))
			wantCode(t, err, gamemesh.CodeFrameTooLarge)
			if _, err := c.CallRaw(ctxT(t), "test.echo", []byte("ok")); err != nil {
				t.Fatalf("an oversize request must not end the session: %v", err)
			}
			_, err = c.CallRaw(ctxT(t), "test.big", nil)
			wantCode(t, err, gamemesh.CodeFrameTooLarge)
			waitDone(t, c)
			wantCode(t, c.Err(), gamemesh.CodeFrameTooLarge)
		})
	}
}
