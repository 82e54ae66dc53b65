package client_test

import (
	"context"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/client"
	"github.com/gamemesh/gamemesh/client/clienttest"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

func TestDialLogsIn(t *testing.T) {
	s := start(t, clienttest.Config{})
	a := addrs(s)
	a["plain"] = strings.TrimPrefix(s.TCPAddr(), "tcp://")
	for name, addr := range a {
		t.Run(name, func(t *testing.T) {
			player := gamemesh.NewPlayerID()
			c := dial(t, s, addr, player, client.Options{})
			if c.PlayerID() != player {
				t.Fatalf("PlayerID = %q, want %q", c.PlayerID(), player)
			}
			if c.SessionID() == "" {
				t.Fatal("empty session id")
			}
			if c.Err() != nil {
				t.Fatalf("Err = %v on a live session", c.Err())
			}
		})
	}
}

func TestDialRefused(t *testing.T) {
	s := start(t, clienttest.Config{})
	for name, addr := range addrs(s) {
		t.Run(name, func(t *testing.T) {
			ctx := ctxT(t)
			_, err := client.Dial(ctx, addr, "not-a-ticket", client.Options{})
			wantCode(t, err, gamemesh.CodeBadTicket)

			tk := s.Ticket(gamemesh.NewPlayerID())
			c, err := client.Dial(ctx, addr, tk, client.Options{})
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
			_, err = client.Dial(ctx, addr, tk, client.Options{})
			wantCode(t, err, gamemesh.CodeTicketReplayed)
		})
	}
}

func TestDialBadInput(t *testing.T) {
	ctx := ctxT(t)
	_, err := client.Dial(ctx, "tcp://127.0.0.1:1", "", client.Options{})
	wantCode(t, err, gamemesh.CodeInvalidArgument)
	_, err = client.Dial(ctx, "http://127.0.0.1:1", "t", client.Options{})
	wantCode(t, err, gamemesh.CodeInvalidArgument)
	_, err = client.Dial(ctx, "tcp://", "t", client.Options{})
	wantCode(t, err, gamemesh.CodeInvalidArgument)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	_, err = client.Dial(ctx, "tcp://"+dead, "t", client.Options{})
	wantCode(t, err, gamemesh.CodeUnavailable)
	_, err = client.Dial(ctx, "ws://"+dead+"/ws", "t", client.Options{})
	wantCode(t, err, gamemesh.CodeUnavailable)
}

func TestDialQueue(t *testing.T) {
	s := start(t, clienttest.Config{QueueFrames: 3})
	for name, addr := range addrs(s) {
		t.Run(name, func(t *testing.T) {
			var got []int64
			c := dial(t, s, addr, gamemesh.NewPlayerID(), client.Options{
				OnQueue: func(q *gamev1.QueueStatus) { got = append(got, q.GetPosition()) },
			})
			if !slices.Equal(got, []int64{3, 2, 1}) {
				t.Fatalf("queue positions %v, want [3 2 1]", got)
			}
			if c.PlayerID() == "" {
				t.Fatal("not logged in")
			}
		})
	}
}

func TestDialServerFullAfterQueue(t *testing.T) {
	s := start(t, clienttest.Config{QueueFrames: 2, RefuseLogin: gamemesh.CodeServerFull})
	n := 0
	_, err := client.Dial(ctxT(t), s.TCPAddr(), s.Ticket(gamemesh.NewPlayerID()), client.Options{
		OnQueue: func(*gamev1.QueueStatus) { n++ },
	})
	wantCode(t, err, gamemesh.CodeServerFull)
	if n != 2 {
		t.Fatalf("%d queue updates, want 2", n)
	}
}

// A gate that accepts and never answers: the login ends with ctx.
func TestDialContextEndsSilentLogin(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var held []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	defer func() {
		ln.Close()
		wg.Wait()
		for _, c := range held {
			c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = client.Dial(ctx, "tcp://"+ln.Addr().String(), "ticket", client.Options{})
	wantCode(t, err, gamemesh.CodeDeadlineExceeded)

	// LoginIdle bounds the wait for each frame on its own.
	_, err = client.Dial(ctxT(t), "tcp://"+ln.Addr().String(), "ticket", client.Options{LoginIdle: 50 * time.Millisecond})
	wantCode(t, err, gamemesh.CodeTimeout)
}
