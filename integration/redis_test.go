//go:build integration

package integration

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Redis is a redis-server of one test.
type Redis struct {
	t    testing.TB
	bin  string
	Port int
	Dir  string
	logs *logBuffer
	p    *proc
}

// StartRedis starts redis-server with deploy/redis/redis.conf on a free port
// and its own data directory.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	r := &Redis{t: t, bin: redisPath(t), Port: freePort(t), Dir: t.TempDir(), logs: &logBuffer{max: 256 << 10}}
	dumpLogsOnFailure(t, "redis", r.logs)
	r.start()
	return r
}

func (r *Redis) start() {
	r.t.Helper()
	conf := filepath.Join(repoRoot(r.t), "deploy", "redis", "redis.conf")
	args := []string{conf, "--port", strconv.Itoa(r.Port), "--dir", r.Dir, "--bind", "127.0.0.1", "--save", ""}
	r.p = start(r.t, "redis", r.bin, args, []string{"PATH=" + os.Getenv("PATH")}, r.logs)
	if !waitUntil(startTimeout, func() bool {
		v, err := r.Do("PING")
		return err == nil && v == "PONG"
	}) {
		r.t.Fatalf("redis-server on port %d did not answer PING", r.Port)
	}
}

// Addr is host:port for REDIS_HOST.
func (r *Redis) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.Port)) }

// Restart stops Redis (SIGTERM: it flushes its AOF) and starts it again on
// the same port and data directory.
func (r *Redis) Restart() {
	r.t.Helper()
	r.p.stop(10 * time.Second)
	r.start()
}

// Stop stops Redis.
func (r *Redis) Stop() { r.p.stop(10 * time.Second) }

// Start starts a stopped Redis again (same port and data).
func (r *Redis) Start() {
	r.t.Helper()
	r.start()
}

// Do runs one command over a fresh connection and returns a simple or bulk
// string reply (a minimal RESP client: the project has no Redis client yet).
func (r *Redis) Do(args ...string) (string, error) {
	conn, err := net.DialTimeout("tcp", r.Addr(), time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	var b bytes.Buffer
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := conn.Write(b.Bytes()); err != nil {
		return "", err
	}
	buf := make([]byte, 64<<10)
	n, err := conn.Read(buf)
	if err != nil {
		return "", err
	}
	reply := string(buf[:n])
	switch {
	case strings.HasPrefix(reply, "+"):
		return strings.TrimRight(reply[1:], "\r\n"), nil
	case strings.HasPrefix(reply, ":"):
		return strings.TrimRight(reply[1:], "\r\n"), nil
	case strings.HasPrefix(reply, "-"):
		return "", fmt.Errorf("redis: %s", strings.TrimRight(reply[1:], "\r\n"))
	case strings.HasPrefix(reply, "$-1"):
		return "", nil
	case strings.HasPrefix(reply, "$"):
		_, rest, _ := strings.Cut(reply, "\r\n")
		return strings.TrimSuffix(rest, "\r\n"), nil
	}
	return reply, nil
}

// NumSub returns how many clients subscribe to channel (PUBSUB NUMSUB).
func (r *Redis) NumSub(channel string) int {
	reply, err := r.Do("PUBSUB", "NUMSUB", channel)
	if err != nil {
		return -1
	}
	i := strings.LastIndexByte(reply, ':')
	if i < 0 {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(reply[i+1:]))
	if err != nil {
		return -1
	}
	return n
}

// SetConfig writes a configuration key the way "gamemesh ctl" does.
func (r *Redis) SetConfig(key, value, version string) error {
	_, err := r.Do("SET", key, value+"||"+version)
	return err
}
