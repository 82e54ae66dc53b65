package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// GuestLoginPath is the path of the guest login endpoint under the HTTP base.
const GuestLoginPath = "/v1/login/guest"

// GuestLoginTimeout bounds a GuestLogin call when ctx has no earlier deadline.
const GuestLoginTimeout = 10 * time.Second

// maxLoginReply caps how much of a login answer is read.
const maxLoginReply = 64 << 10

// GuestTicket is what the login function hands a guest: the account and a
// signed, short-lived, single-use ticket to present to a gate.
type GuestTicket struct {
	PlayerID  gamemesh.PlayerID
	Ticket    string
	ExpiresAt time.Time
	// Created is true when this login created the account.
	Created bool
}

// GuestLogin asks the login endpoint at httpBase ("http://host:port") for a
// ticket for the guest account of deviceID, creating the account on first use.
// A refusal is a *gamemesh.Error with the server's code (BANNED,
// INVALID_ARGUMENT, RATE_LIMITED...); an unreachable server is UNAVAILABLE.
func GuestLogin(ctx context.Context, httpBase, deviceID string) (GuestTicket, error) {
	// No keep-alive, so that no idle connection (and its goroutines) outlives the call.
	hc := &http.Client{Timeout: GuestLoginTimeout, Transport: &http.Transport{DisableKeepAlives: true}}
	return GuestLoginWith(ctx, hc, httpBase, deviceID)
}

// GuestLoginWith is GuestLogin through hc, for callers that share a transport
// (keep-alive) across many logins; they own hc's idle connections.
func GuestLoginWith(ctx context.Context, hc *http.Client, httpBase, deviceID string) (GuestTicket, error) {
	if !strings.HasPrefix(httpBase, "http://") && !strings.HasPrefix(httpBase, "https://") {
		return GuestTicket{}, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "login base %q is not an http:// or https:// URL", httpBase)
	}
	if deviceID == "" {
		return GuestTicket{}, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "device id is empty")
	}
	reqBody, err := json.Marshal(map[string]string{"device_id": deviceID})
	if err != nil {
		return GuestTicket{}, gamemesh.Wrap(gamemesh.CodeInternal, err, "encoding login request")
	}
	url := strings.TrimSuffix(httpBase, "/") + GuestLoginPath
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(reqBody))
	if err != nil {
		return GuestTicket{}, gamemesh.Wrap(gamemesh.CodeInvalidArgument, err, "bad login URL")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return GuestTicket{}, gamemesh.Wrap(gamemesh.CodeOf(ctx.Err()), err, "guest login")
		}
		if isTimeout(err) {
			return GuestTicket{}, gamemesh.Wrap(gamemesh.CodeDeadlineExceeded, err, "guest login timed out")
		}
		return GuestTicket{}, gamemesh.Wrap(gamemesh.CodeUnavailable, err, "login server unreachable")
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxLoginReply))
	if err != nil {
		return GuestTicket{}, gamemesh.Wrap(gamemesh.CodeUnavailable, err, "reading login answer")
	}
	if resp.StatusCode != http.StatusOK {
		return GuestTicket{}, loginError(resp.StatusCode, raw)
	}
	var ans struct {
		PlayerID    string `json:"player_id"`
		Ticket      string `json:"ticket"`
		ExpiresAtMs int64  `json:"expires_at_ms"`
		Created     bool   `json:"created"`
	}
	if err := json.Unmarshal(raw, &ans); err != nil {
		return GuestTicket{}, gamemesh.Wrap(gamemesh.CodeProtocol, err, "malformed login answer")
	}
	if ans.PlayerID == "" || ans.Ticket == "" {
		return GuestTicket{}, gamemesh.Errorf(gamemesh.CodeProtocol, "login answer without player id or ticket")
	}
	return GuestTicket{
		PlayerID:  gamemesh.PlayerID(ans.PlayerID),
		Ticket:    ans.Ticket,
		ExpiresAt: time.UnixMilli(ans.ExpiresAtMs),
		Created:   ans.Created,
	}, nil
}

// loginError turns a non-200 answer into a *gamemesh.Error: the code named in
// its JSON body, else one derived from the HTTP status.
func loginError(status int, raw []byte) error {
	var ans struct {
		Code  string `json:"code"`
		Error string `json:"error"`
	}
	_ = json.Unmarshal(raw, &ans) // a body that is not JSON falls back to the status
	code, ok := CodeFromName(ans.Code)
	if !ok || code == gamemesh.CodeOK {
		code = codeFromStatus(status)
	}
	msg := ans.Error
	if msg == "" {
		msg = fmt.Sprintf("login refused: HTTP %d", status)
	}
	return &gamemesh.Error{Code: code, Message: msg}
}

// CodeFromName returns the catalogue code named name, with or without the
// ERROR_CODE_ prefix ("BANNED" or "ERROR_CODE_BANNED").
func CodeFromName(name string) (gamemesh.Code, bool) {
	if name == "" {
		return gamemesh.CodeOK, false
	}
	if !strings.HasPrefix(name, "ERROR_CODE_") {
		name = "ERROR_CODE_" + name
	}
	v, ok := gamev1.ErrorCode_value[name]
	return gamemesh.Code(v), ok
}

func codeFromStatus(status int) gamemesh.Code {
	switch {
	case status == http.StatusTooManyRequests:
		return gamemesh.CodeRateLimited
	case status == http.StatusForbidden:
		return gamemesh.CodePermissionDenied
	case status == http.StatusNotFound:
		return gamemesh.CodeNotFound
	case status == http.StatusServiceUnavailable || status == http.StatusBadGateway:
		return gamemesh.CodeUnavailable
	case status == http.StatusGatewayTimeout:
		return gamemesh.CodeDeadlineExceeded
	case status >= 400 && status < 500:
		return gamemesh.CodeBadRequest
	}
	return gamemesh.CodeInternal
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}
