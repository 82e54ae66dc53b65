package system

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gamemesh/gamemesh/client"
	"github.com/gamemesh/gamemesh/gate"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func startEmbedded(t *testing.T, gc gate.Config) *Embedded {
	t.Helper()
	gc.TCPAddr, gc.WSAddr = "127.0.0.1:0", "127.0.0.1:0"
	e, err := NewEmbedded(EmbeddedConfig{DataDir: t.TempDir(), Gate: gc}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := e.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	return e
}

func dialPlayer(t *testing.T, e *Embedded, device string, opts client.Options) (*client.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tk, err := client.GuestLogin(ctx, "http://"+e.Gate().HTTPAddr(), device)
	if err != nil {
		t.Fatal(err)
	}
	return client.Dial(ctx, "tcp://"+e.Gate().Addr(), tk.Ticket, opts)
}

// A client that waits in the login queue longer than its per-frame login
// idle limit keeps its place: its heartbeats are echoed while it waits.
func TestQueuedClientKeepsItsPlace(t *testing.T) {
	e := startEmbedded(t, gate.Config{MaxOnline: 1})
	first, err := dialPlayer(t, e, "queue-device-1", client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var positions []int64
	done := make(chan error, 1)
	var second *client.Conn
	go func() {
		c, err := dialPlayer(t, e, "queue-device-2", client.Options{LoginIdle: 300 * time.Millisecond, OnQueue: func(q *gamev1.QueueStatus) {
			mu.Lock()
			positions = append(positions, q.Position)
			mu.Unlock()
		}})
		second = c
		done <- err
	}()
	time.Sleep(1500 * time.Millisecond) // five times the second client's LoginIdle
	select {
	case err := <-done:
		t.Fatalf("second login ended while the server was full: %v", err)
	default:
	}
	_ = first.Close()
	if err := <-done; err != nil {
		t.Fatalf("queued login failed after a slot freed: %v", err)
	}
	defer second.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(positions) == 0 || positions[0] != 1 {
		t.Fatalf("queue positions %v, want to start at 1", positions)
	}
	if err := second.Call(context.Background(), "player.get", &gamev1.GetPlayerRequest{}, new(gamev1.GetPlayerResponse)); err != nil {
		t.Fatalf("admitted player cannot play: %v", err)
	}
}

// Live settings reach the running Lua pool without a restart.
func TestLuaLimitsAreLive(t *testing.T) {
	e := startEmbedded(t, gate.Config{})
	if got := e.lua.Pool().Limits().Workers; got != 2 {
		t.Fatalf("workers %d at start, want the default 2", got)
	}
	if _, err := e.config.Set("setting.lua.pool_size", "3"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.config.Set("setting.lua.call_deadline_ms", "120"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		l := e.lua.Pool().Limits()
		if l.Workers == 3 && l.CallTimeout == 120*time.Millisecond {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Lua limits %+v did not follow the settings", l)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
