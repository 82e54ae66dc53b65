package wire

import (
	"errors"
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// Field numbers of gamev1.Envelope.
const (
	fieldKind       = 1
	fieldSeq        = 2
	fieldReplyTo    = 3
	fieldRoute      = 4
	fieldBody       = 5
	fieldCode       = 6
	fieldError      = 7
	fieldAck        = 8
	fieldCompressed = 9
)

var errInvalidUTF8 = errors.New("string field contains invalid UTF-8")

// DecodeInto decodes an Envelope from b into env, overwriting every field,
// without reflection: it accepts and refuses exactly what proto.Unmarshal
// does (unknown fields and fields of an unexpected wire type are skipped,
// the last of repeated scalars wins, strings must be valid UTF-8), which
// FuzzDecode checks. Route and Error are copied unless intern, when not nil,
// returns a non-empty string equal to the route's bytes (a shared copy);
// Body is always a copy, so b may be reused once DecodeInto returns.
// Failures wrap ErrMalformed.
func DecodeInto(b []byte, env *gamev1.Envelope, intern func([]byte) string) error {
	env.Kind, env.Seq, env.ReplyTo, env.Route, env.Body = 0, 0, 0, "", nil
	env.Code, env.Error, env.Ack, env.Compressed = 0, "", 0, false
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return malformed(protowire.ParseError(n))
		}
		if num > protowire.MaxValidNumber {
			return malformed(fmt.Errorf("field number %d out of range", num))
		}
		b = b[n:]
		switch {
		case typ == protowire.VarintType && isVarintField(num):
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return malformed(protowire.ParseError(n))
			}
			b = b[n:]
			switch num {
			case fieldKind:
				env.Kind = gamev1.Kind(int32(v))
			case fieldSeq:
				env.Seq = v
			case fieldReplyTo:
				env.ReplyTo = v
			case fieldCode:
				env.Code = gamev1.ErrorCode(int32(v))
			case fieldAck:
				env.Ack = v
			case fieldCompressed:
				env.Compressed = v != 0
			}
		case typ == protowire.BytesType && (num == fieldRoute || num == fieldBody || num == fieldError):
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return malformed(protowire.ParseError(n))
			}
			b = b[n:]
			switch num {
			case fieldBody:
				env.Body = append(make([]byte, 0, len(v)), v...)
			case fieldRoute:
				if !utf8.Valid(v) {
					return malformed(errInvalidUTF8)
				}
				s := ""
				if intern != nil {
					s = intern(v)
				}
				if s == "" {
					s = string(v)
				}
				env.Route = s
			case fieldError:
				if !utf8.Valid(v) {
					return malformed(errInvalidUTF8)
				}
				env.Error = string(v)
			}
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return malformed(protowire.ParseError(n))
			}
			b = b[n:]
		}
	}
	return nil
}

func isVarintField(num protowire.Number) bool {
	switch num {
	case fieldKind, fieldSeq, fieldReplyTo, fieldCode, fieldAck, fieldCompressed:
		return true
	}
	return false
}

func malformed(err error) error { return fmt.Errorf("%w: %v", ErrMalformed, err) }

// EnvelopeSize is the encoded size of env as AppendEnvelope writes it.
func EnvelopeSize(env *gamev1.Envelope) int {
	n := 0
	if env.Kind != 0 {
		n += 1 + protowire.SizeVarint(uint64(int64(env.Kind)))
	}
	if env.Seq != 0 {
		n += 1 + protowire.SizeVarint(env.Seq)
	}
	if env.ReplyTo != 0 {
		n += 1 + protowire.SizeVarint(env.ReplyTo)
	}
	if len(env.Route) > 0 {
		n += 1 + protowire.SizeBytes(len(env.Route))
	}
	if len(env.Body) > 0 {
		n += 1 + protowire.SizeBytes(len(env.Body))
	}
	if env.Code != 0 {
		n += 1 + protowire.SizeVarint(uint64(int64(env.Code)))
	}
	if len(env.Error) > 0 {
		n += 1 + protowire.SizeBytes(len(env.Error))
	}
	if env.Ack != 0 {
		n += 1 + protowire.SizeVarint(env.Ack)
	}
	if env.Compressed {
		n += 2
	}
	return n
}

// AppendEnvelope appends env encoded exactly as proto.Marshal encodes it
// (fields in number order, zero values omitted), without reflection. It does
// not check that Route and Error are valid UTF-8: the gate and the client
// only send strings that came from a decoded frame or from code.
func AppendEnvelope(dst []byte, env *gamev1.Envelope) []byte {
	if env.Kind != 0 {
		dst = protowire.AppendVarint(append(dst, fieldKind<<3|byte(protowire.VarintType)), uint64(int64(env.Kind)))
	}
	if env.Seq != 0 {
		dst = protowire.AppendVarint(append(dst, fieldSeq<<3|byte(protowire.VarintType)), env.Seq)
	}
	if env.ReplyTo != 0 {
		dst = protowire.AppendVarint(append(dst, fieldReplyTo<<3|byte(protowire.VarintType)), env.ReplyTo)
	}
	if len(env.Route) > 0 {
		dst = protowire.AppendString(append(dst, fieldRoute<<3|byte(protowire.BytesType)), env.Route)
	}
	if len(env.Body) > 0 {
		dst = protowire.AppendBytes(append(dst, fieldBody<<3|byte(protowire.BytesType)), env.Body)
	}
	if env.Code != 0 {
		dst = protowire.AppendVarint(append(dst, fieldCode<<3|byte(protowire.VarintType)), uint64(int64(env.Code)))
	}
	if len(env.Error) > 0 {
		dst = protowire.AppendString(append(dst, fieldError<<3|byte(protowire.BytesType)), env.Error)
	}
	if env.Ack != 0 {
		dst = protowire.AppendVarint(append(dst, fieldAck<<3|byte(protowire.VarintType)), env.Ack)
	}
	if env.Compressed {
		dst = append(dst, fieldCompressed<<3|byte(protowire.VarintType), 1)
	}
	return dst
}
