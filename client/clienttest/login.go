package clienttest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gamemesh/gamemesh"
)

// TicketTTL is the lifetime the fake login endpoint announces for a ticket.
const TicketTTL = time.Minute

// Ticket mints a single-use ticket for player, as the login endpoint would.
func (s *Server) Ticket(player gamemesh.PlayerID) string {
	id := gamemesh.NewID()
	s.mu.Lock()
	s.tickets[id] = &ticket{player: player}
	s.mu.Unlock()
	return id
}

// Ban makes guest logins of deviceID fail with BANNED.
func (s *Server) Ban(deviceID string) {
	s.mu.Lock()
	s.banned[deviceID] = true
	s.mu.Unlock()
}

// redeem consumes a ticket: the player, or BAD_TICKET / TICKET_REPLAYED.
func (s *Server) redeem(id string) (gamemesh.PlayerID, gamemesh.Code) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tickets[id]
	switch {
	case t == nil:
		return "", gamemesh.CodeBadTicket
	case t.used:
		return "", gamemesh.CodeTicketReplayed
	}
	t.used = true
	return t.player, gamemesh.CodeOK
}

func (s *Server) serveGuest(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, gamemesh.CodeBadRequest, "POST only")
		return
	}
	var req struct {
		DeviceID string `json:"device_id"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, gamemesh.CodeBadRequest, "malformed JSON")
		return
	}
	if req.DeviceID == "" {
		writeError(w, http.StatusBadRequest, gamemesh.CodeInvalidArgument, "device_id is required")
		return
	}
	s.mu.Lock()
	banned := s.banned[req.DeviceID]
	player, known := s.devices[req.DeviceID]
	if !banned && !known {
		player = gamemesh.NewPlayerID()
		s.devices[req.DeviceID] = player
	}
	s.mu.Unlock()
	if banned {
		writeError(w, http.StatusForbidden, gamemesh.CodeBanned, "account banned")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"player_id":     string(player),
		"ticket":        s.Ticket(player),
		"expires_at_ms": time.Now().Add(TicketTTL).UnixMilli(),
		"created":       !known,
	})
}

func writeError(w http.ResponseWriter, status int, code gamemesh.Code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{
		"code":  strings.TrimPrefix(code.String(), "ERROR_CODE_"),
		"error": msg,
	})
}
