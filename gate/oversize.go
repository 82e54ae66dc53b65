package gate

import (
	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// msgResponseTooLarge is the error of a response that exceeded MaxOutFrame.
const msgResponseTooLarge = "response too large"

// oversize returns what the write loop sends instead of env, whose n bytes
// exceed MaxOutFrame (the client would end its session on it): the answer to
// a request becomes BODY_TOO_LARGE for that request; anything else (a push)
// is dropped and logged, and oversize returns nil.
func (s *session) oversize(env *gamev1.Envelope, n int) *gamev1.Envelope {
	limit := s.g.cfg.MaxOutFrame
	if env.Kind != gamev1.Kind_KIND_RESPONSE || env.ReplyTo == 0 {
		s.logger().Warn("dropping a frame too large for the client",
			"kind", env.Kind.String(), "route", clip(env.Route), "bytes", n, "limit", limit)
		return nil
	}
	s.logger().Warn("response too large for the client: answering BODY_TOO_LARGE",
		"route", clip(env.Route), "bytes", n, "limit", limit)
	r := &gamev1.Envelope{Kind: gamev1.Kind_KIND_RESPONSE, Seq: env.Seq, ReplyTo: env.ReplyTo, Route: env.Route,
		Code: gamemesh.CodeBodyTooLarge, Error: msgResponseTooLarge}
	if proto.Size(r) > limit {
		r.Route = "" // a route echoed back cannot be larger than the answer may be
	}
	return r
}

// clip shortens a client-chosen string for a log line.
func clip(s string) string {
	const maxLen = 64
	if len(s) > maxLen {
		return s[:maxLen] + "…"
	}
	return s
}
