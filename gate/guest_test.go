package gate

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

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
