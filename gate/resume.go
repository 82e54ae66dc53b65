package gate

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// A resume token names a session of this gate and its player, and the
// generation of the token (each resume issues the next one, so a token
// works once), signed with the gate's own random key (sessions live in one
// gate's memory: a token is worthless anywhere else, or after a restart).
//
// Encoding: base64url(payload ‖ HMAC-SHA256(key, payload)), payload =
// version 1 ‖ len ‖ player ‖ len ‖ session ‖ generation (4 bytes, big endian).
const (
	resumeTokenVersion = 1
	resumeMACLen       = sha256.Size
	maxResumeTokenLen  = 512
)

var errBadResumeToken = errors.New("malformed resume token")

type resumeClaims struct {
	player  gamemesh.PlayerID
	session string
	gen     uint32
}

func mintResumeToken(key []byte, c resumeClaims) string {
	p := make([]byte, 0, 7+len(c.player)+len(c.session)+resumeMACLen)
	p = append(p, resumeTokenVersion, byte(len(c.player)))
	p = append(p, c.player...)
	p = append(p, byte(len(c.session)))
	p = append(p, c.session...)
	p = binary.BigEndian.AppendUint32(p, c.gen)
	m := hmac.New(sha256.New, key)
	m.Write(p)
	return base64.RawURLEncoding.EncodeToString(m.Sum(p))
}

// parseResumeToken checks tok's length, encoding and signature before it
// reads anything in it.
func parseResumeToken(key []byte, tok string) (resumeClaims, error) {
	if len(tok) == 0 || len(tok) > maxResumeTokenLen {
		return resumeClaims{}, fmt.Errorf("%w: length %d", errBadResumeToken, len(tok))
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(tok)
	if err != nil || len(raw) < 1+1+1+4+resumeMACLen {
		return resumeClaims{}, errBadResumeToken
	}
	p, mac := raw[:len(raw)-resumeMACLen], raw[len(raw)-resumeMACLen:]
	m := hmac.New(sha256.New, key)
	m.Write(p)
	if !hmac.Equal(mac, m.Sum(nil)) {
		return resumeClaims{}, fmt.Errorf("%w: bad signature", errBadResumeToken)
	}
	if p[0] != resumeTokenVersion {
		return resumeClaims{}, fmt.Errorf("%w: version %d", errBadResumeToken, p[0])
	}
	p = p[1:]
	field := func() (string, bool) {
		if len(p) < 1 || len(p) < 1+int(p[0]) {
			return "", false
		}
		s := string(p[1 : 1+int(p[0])])
		p = p[1+int(p[0]):]
		return s, true
	}
	player, ok1 := field()
	session, ok2 := field()
	if !ok1 || !ok2 || len(p) != 4 || !gamemesh.PlayerID(player).Valid() || session == "" {
		return resumeClaims{}, errBadResumeToken
	}
	return resumeClaims{player: gamemesh.PlayerID(player), session: session, gen: binary.BigEndian.Uint32(p)}, nil
}

// resumeToken returns the current token of s; s.mu must be held.
func (g *Gate) resumeToken(s *session) string {
	return mintResumeToken(g.resumeKey, resumeClaims{player: s.player, session: s.id, gen: s.resumeGen})
}

// resume attaches l to the detached (or still attached) session its resume
// token names: the client gets a resumed login answer, then every frame it
// missed after req.LastSeq, in order, and the session goes on. A token that
// is malformed, forged, of another player, already used, for a session that
// ended or whose missed frames are gone is refused with RESUME_FAILED (the
// client logs in again with a ticket). False ends the read loop.
func (g *Gate) resume(l *link, req *gamev1.LoginRequest) bool {
	hs := l.s
	refuse := func(msg string, err error) bool {
		hs.logger().Info("resume refused", "reason", msg, "err", err)
		g.m.resume(gamemesh.CodeResumeFailed)
		hs.kick(gamemesh.CodeResumeFailed, msg+": log in again")
		return false
	}
	c, err := parseResumeToken(g.resumeKey, req.ResumeToken)
	if err != nil {
		return refuse("invalid resume token", err)
	}
	g.mu.RLock()
	s := g.resumable[c.session]
	g.mu.RUnlock()
	switch {
	case s == nil:
		return refuse("no session to resume", nil)
	case s.player != c.player:
		return refuse("the resume token is not this session's", nil)
	}
	s.mu.Lock()
	if s.ended || s.resumeGen != c.gen {
		s.mu.Unlock()
		return refuse("resume token already used", nil)
	}
	s.resumeGen++
	token := g.resumeToken(s)
	if s.grace != nil {
		s.grace.Stop()
	}
	s.mu.Unlock()

	lr := &gamev1.LoginResponse{
		PlayerId:            string(s.player),
		SessionId:           s.id,
		HeartbeatIntervalMs: g.cfg.HeartbeatInterval.Milliseconds(),
		ServerTimeMs:        g.deps.Now().UnixMilli(),
		ResumeToken:         token,
		ResumeGraceMs:       g.cfg.ResumeGrace.Milliseconds(),
		Resumed:             true,
	}
	if s.codec != nil {
		lr.Compression, lr.CompressMinBytes = s.codec.name, int64(g.cfg.CompressMin)
	}
	body, _ := proto.Marshal(lr)
	resp := &gamev1.Envelope{Kind: gamev1.Kind_KIND_RESPONSE, Route: "login", Body: body}
	if err := s.out.attach(l, req.LastSeq, resp); err != nil {
		return refuse(gamemesh.MessageOf(err), nil)
	}
	g.ipDone(l)
	hs.out.release(l)
	l.s = s
	l.armedState = -1
	hs.finish() // the handshake session never logged in: it just stops being tracked
	g.m.resume(gamemesh.CodeOK)
	s.logger().Debug("session resumed", "last_seq", req.LastSeq)
	return true
}

// detach keeps s, whose connection l was lost, for the resume grace period:
// it holds its slot and its directory entry, and frames for it wait in its
// replay buffer. It reports false when s cannot be resumed (then it ends).
func (g *Gate) detach(s *session, l *link) bool {
	if !s.resumable || s.state.Load() != stateOnline {
		return false
	}
	g.mu.RLock()
	stopping := g.stopping
	g.mu.RUnlock()
	if stopping || !s.out.detach(l) {
		return false
	}
	s.mu.Lock()
	if s.grace == nil {
		s.grace = time.AfterFunc(g.cfg.ResumeGrace, s.expire)
	} else {
		s.grace.Reset(g.cfg.ResumeGrace)
	}
	s.mu.Unlock()
	g.m.detached()
	s.logger().Debug("session detached: waiting for a resume", "grace", g.cfg.ResumeGrace)
	return true
}

// expire ends s if nobody resumed it within the grace period.
func (s *session) expire() {
	if s.out.endIfDetached() {
		s.logger().Debug("resume grace over: session ends")
		s.finish()
	}
}
