package clienttest

import (
	"context"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

const loginDeadline = 5 * time.Second

// session is one logged-in player on one connection.
type session struct {
	player     gamemesh.PlayerID
	id         string
	fc         frameConn
	ctx        context.Context
	cancel     context.CancelFunc
	seq        atomic.Uint64
	heartbeats atomic.Int64
}

func (ss *session) send(env *gamev1.Envelope) error {
	env.Seq = ss.seq.Add(1)
	return ss.fc.write(env)
}

func (ss *session) kick(code gamemesh.Code, msg string) {
	_ = ss.send(&gamev1.Envelope{Kind: gamev1.Kind_KIND_KICK, Code: code, Error: msg})
	_ = ss.fc.close()
}

// serve runs one connection: login, then requests until it ends.
func (s *Server) serve(fc frameConn) {
	env, err := fc.read(time.Now().Add(loginDeadline))
	if err != nil {
		return
	}
	refuse := func(code gamemesh.Code, msg string) {
		_ = fc.write(&gamev1.Envelope{Kind: gamev1.Kind_KIND_RESPONSE, Seq: 1, Code: code, Error: msg})
	}
	if env.GetKind() != gamev1.Kind_KIND_LOGIN {
		refuse(gamemesh.CodeNotLoggedIn, "the first frame must be a login")
		return
	}
	var lr gamev1.LoginRequest
	if err := proto.Unmarshal(env.GetBody(), &lr); err != nil {
		refuse(gamemesh.CodeBadRequest, "malformed login")
		return
	}
	player, code := s.redeem(lr.GetTicket())
	if code != gamemesh.CodeOK {
		refuse(code, "login refused")
		return
	}
	for i := s.cfg.QueueFrames; i >= 1; i-- {
		body, _ := proto.Marshal(&gamev1.QueueStatus{Position: int64(i), Length: int64(s.cfg.QueueFrames)})
		if err := fc.write(&gamev1.Envelope{Kind: gamev1.Kind_KIND_QUEUE, Body: body}); err != nil {
			return
		}
	}
	if s.cfg.RefuseLogin != gamemesh.CodeOK {
		refuse(s.cfg.RefuseLogin, "login refused by configuration")
		return
	}
	ss := &session{player: player, id: gamemesh.NewID(), fc: fc}
	ss.ctx, ss.cancel = context.WithCancel(s.ctx)
	defer ss.cancel()
	s.register(ss)
	defer s.unregister(ss)
	body, _ := proto.Marshal(&gamev1.LoginResponse{
		PlayerId:            string(player),
		SessionId:           ss.id,
		HeartbeatIntervalMs: s.cfg.HeartbeatInterval.Milliseconds(),
		ServerTimeMs:        time.Now().UnixMilli(),
	})
	if err := ss.send(&gamev1.Envelope{Kind: gamev1.Kind_KIND_RESPONSE, Body: body}); err != nil {
		return
	}
	for {
		env, err := fc.read(time.Time{})
		if err != nil {
			return
		}
		switch env.GetKind() {
		case gamev1.Kind_KIND_REQUEST:
			s.wg.Add(1) // safe: this connection's goroutine is counted
			go s.handle(ss, env)
		case gamev1.Kind_KIND_HEARTBEAT:
			ss.heartbeats.Add(1)
			if err := ss.send(&gamev1.Envelope{Kind: gamev1.Kind_KIND_HEARTBEAT}); err != nil {
				return
			}
		default:
			ss.kick(gamemesh.CodeProtocol, "unexpected frame kind")
			return
		}
	}
}

func (s *Server) handle(ss *session, req *gamev1.Envelope) {
	defer s.wg.Done()
	var body []byte
	var err error = gamemesh.Errorf(gamemesh.CodeUnknownRoute, "unknown route %q", req.GetRoute())
	if s.cfg.Handler != nil {
		body, err = s.cfg.Handler(ss.ctx, ss.player, req.GetRoute(), req.GetBody())
	}
	resp := &gamev1.Envelope{Kind: gamev1.Kind_KIND_RESPONSE, ReplyTo: req.GetSeq(), Route: req.GetRoute(), Body: body}
	if err != nil {
		resp.Body, resp.Code, resp.Error = nil, gamemesh.CodeOf(err), gamemesh.MessageOf(err)
	}
	_ = ss.send(resp)
}

// register makes ss the player's session, kicking an older one.
func (s *Server) register(ss *session) {
	s.mu.Lock()
	old := s.sessions[ss.player]
	s.sessions[ss.player] = ss
	s.mu.Unlock()
	if old != nil {
		old.kick(gamemesh.CodeKicked, "logged in elsewhere")
	}
}

func (s *Server) unregister(ss *session) {
	s.mu.Lock()
	if s.sessions[ss.player] == ss {
		delete(s.sessions, ss.player)
	}
	s.mu.Unlock()
}

func (s *Server) session(player gamemesh.PlayerID) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[player]
}

// Push sends a PUSH frame to the player's session; false if not online.
func (s *Server) Push(player gamemesh.PlayerID, route string, body []byte) bool {
	return s.Send(player, &gamev1.Envelope{Kind: gamev1.Kind_KIND_PUSH, Route: route, Body: body})
}

// Kick sends a KICK frame with code and message to the player's session and
// closes it; false if not online.
func (s *Server) Kick(player gamemesh.PlayerID, code gamemesh.Code, msg string) bool {
	ss := s.session(player)
	if ss == nil {
		return false
	}
	ss.kick(code, msg)
	return true
}

// Send sends any frame to the player's session (its seq is set by the
// session); false if not online or the write failed.
func (s *Server) Send(player gamemesh.PlayerID, env *gamev1.Envelope) bool {
	ss := s.session(player)
	return ss != nil && ss.send(env) == nil
}

// Heartbeats returns how many heartbeats the player's current session sent.
func (s *Server) Heartbeats(player gamemesh.PlayerID) int64 {
	if ss := s.session(player); ss != nil {
		return ss.heartbeats.Load()
	}
	return 0
}

// Online returns the number of logged-in sessions.
func (s *Server) Online() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}
