package gate

import (
	"errors"
	"fmt"
	"time"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// errRateKicked ends a WebSocket read from the ping handler once the session
// has been kicked for flooding.
var errRateKicked = errors.New("gate: kicked for exceeding the rate limit")

// allow counts one client frame against the connection's token bucket. answer
// reports whether the frame may be answered; keep is false when the session
// was kicked and reading must stop. A refused frame is a strike and an
// accepted one takes a strike away: once strikes exceed MaxRateRefusals (the
// refused frames outnumber the accepted ones by that much, or that many in a
// row), the session is kicked with RATE_LIMITED. It runs on the read loop
// (handle, and onPing inside the WebSocket reader).
func (s *session) allow(now time.Time) (answer, keep bool) {
	if s.limiter.AllowN(now, 1) {
		if s.strikes > 0 {
			s.strikes--
		}
		return true, true
	}
	s.strikes++
	s.g.m.frameRateLimited()
	if s.strikes > s.g.cfg.MaxRateRefusals {
		l := s.g.limits.Load()
		s.logger().Warn("kicking session: rate limit exceeded persistently", "refused", s.strikes)
		s.kick(gamemesh.CodeRateLimited, fmt.Sprintf(
			"rate limit exceeded persistently: at most %g frames/s, bursts of %d", l.RateLimit, l.RateBurst))
		return false, false
	}
	return false, true
}

// respondRateLimited answers the request env with RATE_LIMITED.
func (s *session) respondRateLimited(env *gamev1.Envelope) bool {
	l := s.g.limits.Load()
	return s.respondError(env, gamemesh.CodeRateLimited,
		fmt.Sprintf("rate limit exceeded: at most %g frames/s, bursts of %d", l.RateLimit, l.RateBurst))
}

// onPing is the WebSocket ping handler, called by the WebSocket reader (the
// gate's own, or gorilla's for wss) on the read loop.
// A ping counts against the rate limit like any frame; the pong is queued
// for the write loop, which writes it with its next batch under its own
// write deadline. (Gorilla's default handler would write the pong itself,
// concurrently with the write loop, and move the connection's write deadline
// under a batch being written.)
func (l *link) onPing(data string) error {
	s := l.s
	answer, keep := s.allow(time.Now())
	if !keep {
		return errRateKicked
	}
	if answer {
		s.out.putControl(func(dst []byte) []byte { return wsPong(dst, data) })
	}
	return nil
}
