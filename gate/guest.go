package gate

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// maxGuestBody caps the body of the guest login.
const maxGuestBody = 4 << 10

type guestLoginRequest struct {
	DeviceID string `json:"device_id"`
}

type guestLoginResponse struct {
	PlayerID    string `json:"player_id"`
	Ticket      string `json:"ticket"`
	ExpiresAtMs int64  `json:"expires_at_ms"`
	Created     bool   `json:"created"`
}

type httpError struct {
	Code  string `json:"code"`
	Error string `json:"error"`
}

// handleGuestLogin is POST /v1/login/guest: {"device_id"} → login.guest →
// {"player_id","ticket","expires_at_ms","created"}.
func (g *Gate) handleGuestLogin(w http.ResponseWriter, r *http.Request) {
	var in guestLoginRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxGuestBody))
	if err := dec.Decode(&in); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeHTTPError(w, gamemesh.CodeBodyTooLarge, "body exceeds 4096 bytes")
			return
		}
		writeHTTPError(w, gamemesh.CodeBadRequest, "malformed JSON body: expected {\"device_id\":\"...\"}")
		return
	}
	body, err := proto.Marshal(&gamev1.GuestLoginRequest{DeviceId: in.DeviceID})
	if err != nil {
		writeHTTPError(w, gamemesh.CodeBadRequest, "device_id is not valid UTF-8")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), g.cfg.CallDeadline)
	out, err := g.deps.Invoker.Invoke(ctx, gamemesh.Request{App: "login", Method: "guest", ID: gamemesh.NewID(), Body: body})
	cancel()
	if err != nil {
		code := gamemesh.CodeOf(err)
		if code == gamemesh.CodeInternal || code == gamemesh.CodeUnavailable {
			g.log.Warn("guest login failed", "code", code.String(), "err", err)
		}
		writeHTTPError(w, code, gamemesh.MessageOf(err))
		return
	}
	var resp gamev1.GuestLoginResponse
	if err := proto.Unmarshal(out, &resp); err != nil {
		g.log.Error("guest login: malformed response from login.guest", "err", err)
		writeHTTPError(w, gamemesh.CodeInternal, "internal error")
		return
	}
	writeJSON(w, http.StatusOK, guestLoginResponse{
		PlayerID: resp.PlayerId, Ticket: resp.Ticket, ExpiresAtMs: resp.ExpiresAtMs, Created: resp.Created,
	})
}

func writeHTTPError(w http.ResponseWriter, code gamemesh.Code, msg string) {
	writeJSON(w, httpStatus(code), httpError{Code: strings.TrimPrefix(code.String(), "ERROR_CODE_"), Error: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// httpStatus maps a catalogue code to the HTTP status of the guest login.
func httpStatus(code gamemesh.Code) int {
	switch code {
	case gamemesh.CodeOK:
		return http.StatusOK
	case gamemesh.CodeBadRequest, gamemesh.CodeInvalidArgument, gamemesh.CodeProtocol:
		return http.StatusBadRequest
	case gamemesh.CodeBanned, gamemesh.CodePermissionDenied:
		return http.StatusForbidden
	case gamemesh.CodeNotFound, gamemesh.CodeUnknownRoute:
		return http.StatusNotFound
	case gamemesh.CodeConflict, gamemesh.CodeAlreadyDone:
		return http.StatusConflict
	case gamemesh.CodeBodyTooLarge, gamemesh.CodeFrameTooLarge:
		return http.StatusRequestEntityTooLarge
	case gamemesh.CodeRateLimited, gamemesh.CodeLimitReached:
		return http.StatusTooManyRequests
	case gamemesh.CodeDeadlineExceeded, gamemesh.CodeTimeout:
		return http.StatusGatewayTimeout
	case gamemesh.CodeUnavailable, gamemesh.CodeFeatureDisabled, gamemesh.CodeShuttingDown, gamemesh.CodeServerFull:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
