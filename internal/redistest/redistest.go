// Package redistest starts throwaway redis-server processes for tests.
package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Server is a redis-server started for one test.
type Server struct {
	// Addr is host:port on loopback.
	Addr string
	// Client is connected to Addr; it is closed with the test.
	Client *redis.Client

	t      testing.TB
	bin    string
	port   int
	dir    string
	cmd    *exec.Cmd
	exited chan error
	logs   *strings.Builder
}

// Start starts a redis-server on a free loopback port (no persistence unless
// args say otherwise, e.g. "--appendonly", "yes") and stops it when the test
// ends. Without redis-server the test is skipped, except under CI=true, where
// it fails.
func Start(t testing.TB, args ...string) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis-server is required in CI: %v", err)
		}
		t.Skipf("redis-server not installed: %v", err)
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir()}
	for attempt := 0; ; attempt++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s.port = l.Addr().(*net.TCPAddr).Port
		l.Close()
		s.Addr = fmt.Sprintf("127.0.0.1:%d", s.port)
		if s.start(args) {
			break
		}
		if attempt == 2 {
			t.Fatalf("redis-server did not start on %s:\n%s", s.Addr, s.logs.String())
		}
	}
	s.Client = redis.NewClient(&redis.Options{Addr: s.Addr, DisableIdentity: true})
	t.Cleanup(func() {
		s.Client.Close()
		s.Kill()
	})
	return s
}

// start runs the server on s.port and waits until it answers.
func (s *Server) start(args []string) bool {
	all := append([]string{"--port", fmt.Sprint(s.port), "--bind", "127.0.0.1", "--dir", s.dir,
		"--save", "", "--appendonly", "no"}, args...)
	s.cmd = exec.Command(s.bin, all...)
	s.logs = new(strings.Builder)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.exited = make(chan error, 1)
	go func(cmd *exec.Cmd, exited chan error) { exited <- cmd.Wait() }(s.cmd, s.exited)
	c := redis.NewClient(&redis.Options{Addr: s.Addr, DisableIdentity: true})
	defer c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return true
		}
		select {
		case err := <-s.exited:
			s.exited <- err
			s.cmd = nil
			return false
		case <-time.After(20 * time.Millisecond):
		}
	}
	s.Kill()
	return false
}

// Kill stops the server at once (SIGKILL); Restart brings it back on the
// same port and data directory.
func (s *Server) Kill() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// Restart kills the server if it runs and starts it again on the same
// address and directory, with the same defaults plus args.
func (s *Server) Restart(args ...string) {
	s.t.Helper()
	s.Kill()
	for attempt := 0; attempt < 50; attempt++ {
		if s.start(args) {
			return
		}
		time.Sleep(100 * time.Millisecond) // the port may linger a moment
	}
	s.t.Fatalf("redis-server did not restart on %s:\n%s", s.Addr, s.logs.String())
}
