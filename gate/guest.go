package gate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

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
// {"player_id","ticket","expires_at_ms","created"}. Guest logins are limited
// to GuestRatePerIP per client address and GuestLoginRate over all clients
// (429 RATE_LIMITED beyond either), and the
// body must arrive within HTTPTimeout (408 TIMEOUT otherwise, see withDeadlines).
func (g *Gate) handleGuestLogin(w http.ResponseWriter, r *http.Request) {
	if !g.ips.allowGuest(ipOfString(r.RemoteAddr)) {
		w.Header().Set("Retry-After", "1")
		g.writeHTTPError(w, gamemesh.CodeRateLimited, "too many guest logins from your address, retry later")
		return
	}
	if !g.guestLim.Allow() {
		w.Header().Set("Retry-After", "1")
		g.writeHTTPError(w, gamemesh.CodeRateLimited, "too many guest logins, retry later")
		return
	}
	if !g.enter() {
		g.writeHTTPError(w, gamemesh.CodeShuttingDown, "server is shutting down")
		return
	}
	defer g.wg.Done()
	var in guestLoginRequest
	src := http.MaxBytesReader(w, r.Body, maxGuestBody)
	err := json.NewDecoder(src).Decode(&in)
	if err == nil {
		// Read the rest too, under the read deadline: the call below then
		// runs with the request read whole.
		_, err = io.Copy(io.Discard, src)
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			g.writeHTTPError(w, gamemesh.CodeBodyTooLarge, "body exceeds 4096 bytes")
		case errors.Is(err, os.ErrDeadlineExceeded):
			g.writeJSON(w, http.StatusRequestTimeout, httpError{Code: codeName(gamemesh.CodeTimeout),
				Error: fmt.Sprintf("body not received within %v", g.cfg.HTTPTimeout)})
		default:
			g.writeHTTPError(w, gamemesh.CodeBadRequest, "malformed JSON body: expected {\"device_id\":\"...\"}")
		}
		return
	}
	body, err := proto.Marshal(&gamev1.GuestLoginRequest{DeviceId: in.DeviceID})
	if err != nil {
		g.writeHTTPError(w, gamemesh.CodeBadRequest, "device_id is not valid UTF-8")
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
		g.writeHTTPError(w, code, gamemesh.MessageOf(err))
		return
	}
	var resp gamev1.GuestLoginResponse
	if err := proto.Unmarshal(out, &resp); err != nil {
		g.log.Error("guest login: malformed response from login.guest", "err", err)
		g.writeHTTPError(w, gamemesh.CodeInternal, "internal error")
		return
	}
	g.writeJSON(w, http.StatusOK, guestLoginResponse{
		PlayerID: resp.PlayerId, Ticket: resp.Ticket, ExpiresAtMs: resp.ExpiresAtMs, Created: resp.Created,
	})
}

func (g *Gate) writeHTTPError(w http.ResponseWriter, code gamemesh.Code, msg string) {
	g.writeJSON(w, httpStatus(code), httpError{Code: codeName(code), Error: msg})
}

// codeName is a catalogue code as the HTTP answers spell it ("RATE_LIMITED").
func codeName(code gamemesh.Code) string { return strings.TrimPrefix(code.String(), "ERROR_CODE_") }

// writeJSON writes v as the whole answer, with its length, within
// HTTPTimeout from now.
func (g *Gate) writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		g.log.Error("encoding an HTTP answer", "err", err)
		status, b = http.StatusInternalServerError, []byte(`{"code":"INTERNAL","error":"internal error"}`)
	}
	b = append(b, '\n')
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(g.cfg.HTTPTimeout))
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
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
