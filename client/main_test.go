package client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/client"
	"github.com/gamemesh/gamemesh/client/clienttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testTimeout bounds every wait in these tests.
const testTimeout = 10 * time.Second

func start(t *testing.T, cfg clienttest.Config) *clienttest.Server {
	t.Helper()
	s, err := clienttest.Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// dial logs player in at addr with a fresh ticket; the conn is closed at cleanup.
func dial(t *testing.T, s *clienttest.Server, addr string, player gamemesh.PlayerID, opts client.Options) *client.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	c, err := client.Dial(ctx, addr, s.Ticket(player), opts)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

func wantCode(t *testing.T, err error, code gamemesh.Code) {
	t.Helper()
	var ge *gamemesh.Error
	if !errors.As(err, &ge) {
		t.Fatalf("err = %v (%T), want *gamemesh.Error with code %v", err, err, code)
	}
	if ge.Code != code {
		t.Fatalf("code = %v (%v), want %v", ge.Code, err, code)
	}
}

func waitDone(t *testing.T, c *client.Conn) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(testTimeout):
		t.Fatal("session did not end")
	}
}

// addrs returns the gate addresses of both transports.
func addrs(s *clienttest.Server) map[string]string {
	return map[string]string{"tcp": s.TCPAddr(), "ws": s.WSAddr()}
}
