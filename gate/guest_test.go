package gate

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

func TestGuestLoginHTTP(t *testing.T) {
	t.Parallel()
	var e *env
	e = newEnv(t, nil, func(r *functions.Registry) {
		r.Handle("login", "guest", functions.Method{Handler: functions.Typed(
			func() *gamev1.GuestLoginRequest { return new(gamev1.GuestLoginRequest) },
			func(_ context.Context, req gamemesh.Request, in *gamev1.GuestLoginRequest) (*gamev1.GuestLoginResponse, error) {
				if req.Player != "" {
					return nil, gamemesh.Errorf(gamemesh.CodePermissionDenied, "not for players")
				}
				if len(in.DeviceId) < 8 {
					return nil, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "device_id must be 8 to 128 characters")
				}
				player := gamemesh.PlayerID("p" + strings.ToLower(in.DeviceId))
				tok, claims, err := e.signer.Sign(player, time.Now())
				if err != nil {
					return nil, err
				}
				return &gamev1.GuestLoginResponse{PlayerId: string(player), Ticket: tok, ExpiresAtMs: claims.ExpiresAt.UnixMilli(), Created: true}, nil
			})})
	})
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: ioWait}
	base := "http://" + e.g.HTTPAddr()
	post := func(body string) (int, map[string]any) {
		t.Helper()
		resp, err := hc.Post(base+"/v1/login/guest", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("content type %q", ct)
		}
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, out
	}

	status, out := post(`{"device_id":"device-0001"}`)
	if status != http.StatusOK || out["player_id"] != "pdevice-0001" || out["created"] != true || out["expires_at_ms"].(float64) <= 0 {
		t.Fatalf("%d %v", status, out)
	}
	// The ticket logs in over TCP.
	c := e.dial()
	c.sendLogin(out["ticket"].(string))
	if resp := c.expectLogin(); resp.PlayerId != "pdevice-0001" {
		t.Fatalf("logged in as %s", resp.PlayerId)
	}

	for _, tc := range []struct {
		body   string
		status int
		code   string
	}{
		{`{"device_id":`, http.StatusBadRequest, "BAD_REQUEST"},
		{`not json`, http.StatusBadRequest, "BAD_REQUEST"},
		{`{"device_id":"short"}`, http.StatusBadRequest, "INVALID_ARGUMENT"},
		{`{"device_id":"` + strings.Repeat("a", 5000) + `"}`, http.StatusRequestEntityTooLarge, "BODY_TOO_LARGE"},
	} {
		status, out := post(tc.body)
		if status != tc.status || out["code"] != tc.code || out["error"] == "" {
			t.Errorf("%.20s: %d %v, want %d %s", tc.body, status, out, tc.status, tc.code)
		}
	}

	resp, err := hc.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz %d", resp.StatusCode)
	}
	resp, err = hc.Get(base + "/v1/login/guest")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET guest login %d", resp.StatusCode)
	}
}

func TestGuestLoginUnavailable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil) // no login app registered
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: ioWait}
	resp, err := hc.Post("http://"+e.g.HTTPAddr()+"/v1/login/guest", "application/json", strings.NewReader(`{"device_id":"device-0001"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out httpError
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusNotFound || out.Code != "UNKNOWN_ROUTE" {
		t.Fatalf("%d %+v", resp.StatusCode, out)
	}
}

func TestGuestLoginRateLimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.GuestLoginRate = 0.001; c.GuestLoginBurst = 2 }, nil)
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: ioWait}
	for i, want := range []int{http.StatusNotFound, http.StatusNotFound, http.StatusTooManyRequests} {
		resp, err := hc.Post("http://"+e.g.HTTPAddr()+"/v1/login/guest", "application/json", strings.NewReader(`{"device_id":"device-0001"}`))
		if err != nil {
			t.Fatal(err)
		}
		var out httpError
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if err != nil || resp.StatusCode != want {
			t.Fatalf("login %d: %d %+v (%v), want %d", i, resp.StatusCode, out, err, want)
		}
		if want == http.StatusTooManyRequests && (out.Code != "RATE_LIMITED" || out.Error == "" || resp.Header.Get("Retry-After") == "") {
			t.Fatalf("refusal %+v, Retry-After %q", out, resp.Header.Get("Retry-After"))
		}
	}
}

// rawHTTP opens a connection to the gate's HTTP listener.
func rawHTTP(t *testing.T, e *env) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", e.g.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestGuestLoginSlowBody(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.HTTPTimeout = 200 * time.Millisecond }, nil)
	c := rawHTTP(t, e)
	// Announce 40 bytes, send 5, then nothing.
	if _, err := io.WriteString(c, "POST /v1/login/guest HTTP/1.1\r\nHost: gate\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{\"dev"); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(ioWait))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	defer resp.Body.Close()
	var out httpError
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusRequestTimeout || out.Code != "TIMEOUT" {
		t.Fatalf("%d %+v", resp.StatusCode, out)
	}
}

// TestHTTPDeadlinesDoNotOutliveRequests: a kept-alive connection serves a
// request after a pause longer than HTTPTimeout, and so does a WebSocket
// session.
func TestHTTPDeadlinesDoNotOutliveRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.HTTPTimeout = 100 * time.Millisecond }, nil)
	c := rawHTTP(t, e)
	r := bufio.NewReader(c)
	get := func() {
		t.Helper()
		if _, err := io.WriteString(c, "POST /v1/login/guest HTTP/1.1\r\nHost: gate\r\nContent-Length: 2\r\n\r\n{}"); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(ioWait))
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound { // no login app: UNKNOWN_ROUTE
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	get()
	w := e.dialWS()
	body, _ := proto.Marshal(&gamev1.LoginRequest{Ticket: e.ticket("p1")})
	w.write(&gamev1.Envelope{Kind: gamev1.Kind_KIND_LOGIN, Body: body})
	if got := w.read(); got.Route != "login" {
		t.Fatalf("login answer %v", got)
	}
	time.Sleep(300 * time.Millisecond)
	get()
	w.write(&gamev1.Envelope{Kind: gamev1.Kind_KIND_REQUEST, Seq: 1, Route: "echo.echo", Body: []byte("late")})
	if got := w.read(); got.ReplyTo != 1 || string(got.Body) != "late" {
		t.Fatalf("answer %v", got)
	}
}

// TestStopKicksBeforeWaitingForHTTP: a client stalling its guest login body
// while the gate stops does not delay the sessions' SHUTTING_DOWN kicks, and
// Stop still returns at its deadline.
func TestStopKicksBeforeWaitingForHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil) // HTTPTimeout 5 s: longer than Stop's budget
	c := e.dial()
	c.login(e, "p1")
	w := e.dialWS()
	body, _ := proto.Marshal(&gamev1.LoginRequest{Ticket: e.ticket("p2")})
	w.write(&gamev1.Envelope{Kind: gamev1.Kind_KIND_LOGIN, Body: body})
	if got := w.read(); got.Route != "login" {
		t.Fatalf("login answer %v", got)
	}

	slow := rawHTTP(t, e)
	if _, err := io.WriteString(slow, "POST /v1/login/guest HTTP/1.1\r\nHost: gate\r\nExpect: 100-continue\r\nContent-Length: 40\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// The server says 100 Continue once the handler reads the body.
	_ = slow.SetReadDeadline(time.Now().Add(ioWait))
	sr := bufio.NewReader(slow)
	if line, err := sr.ReadString('\n'); err != nil || !strings.Contains(line, "100") {
		t.Fatalf("got %q, %v; want 100 Continue", line, err)
	}
	if _, err := io.WriteString(slow, `{"dev`); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- e.g.Stop(ctx) }()

	if got := c.read(); got.Kind != gamev1.Kind_KIND_KICK || got.Code != gamemesh.CodeShuttingDown {
		t.Fatalf("tcp: got %v, want KICK SHUTTING_DOWN", got)
	}
	if got := w.read(); got.Kind != gamev1.Kind_KIND_KICK || got.Code != gamemesh.CodeShuttingDown {
		t.Fatalf("ws: got %v, want KICK SHUTTING_DOWN", got)
	}
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned (%v) before the stalled request let it: the kicks came late", err)
	default:
	}
	_ = c.c.Close()
	_ = w.c.Close()
	select {
	case err := <-stopped:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("stop: %v", err)
		}
	case <-time.After(ioWait):
		t.Fatal("Stop did not return at its deadline")
	}
	if _, err := io.Copy(io.Discard, sr); isTimeout(err) {
		t.Fatal("stalled HTTP connection left open")
	}
}
