package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// HeaderLen is the size of the length prefix.
const HeaderLen = 4

// DefaultMaxFrame is the frame size limit used when none is configured.
const DefaultMaxFrame = 64 << 10

// ErrFrameTooLarge is returned when a frame's declared length exceeds the limit.
var ErrFrameTooLarge = errors.New("wire: frame too large")

// ErrTruncated is returned when the stream ends inside a frame.
var ErrTruncated = errors.New("wire: truncated frame")

// ErrMalformed is returned when a frame's bytes are not an Envelope.
var ErrMalformed = errors.New("wire: malformed frame")

// Reader reads frames from a stream with a size limit. It reuses its buffer:
// the Envelope returned by Read does not alias it.
type Reader struct {
	r   io.Reader
	max int
	hdr [HeaderLen]byte
	buf []byte
}

// NewReader returns a Reader of frames from r of at most max bytes each
// (DefaultMaxFrame when max <= 0).
func NewReader(r io.Reader, max int) *Reader {
	if max <= 0 {
		max = DefaultMaxFrame
	}
	return &Reader{r: r, max: max}
}

// ReadRaw reads one frame and returns its payload, valid until the next call.
// It returns io.EOF on a clean end between frames, ErrTruncated inside one,
// ErrFrameTooLarge (wrapped, with the size) before allocating for an oversize frame.
func (fr *Reader) ReadRaw() ([]byte, error) {
	if _, err := io.ReadFull(fr.r, fr.hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, ErrTruncated
		}
		return nil, err
	}
	n := binary.BigEndian.Uint32(fr.hdr[:])
	if n > uint32(fr.max) {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, n, fr.max)
	}
	if cap(fr.buf) < int(n) {
		fr.buf = make([]byte, n)
	}
	b := fr.buf[:n]
	if _, err := io.ReadFull(fr.r, b); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, ErrTruncated
		}
		return nil, err
	}
	return b, nil
}

// Read reads and decodes one frame.
func (fr *Reader) Read() (*gamev1.Envelope, error) {
	b, err := fr.ReadRaw()
	if err != nil {
		return nil, err
	}
	return Decode(b)
}

// Decode unmarshals an Envelope from b (see DecodeInto), wrapping failures
// in ErrMalformed.
func Decode(b []byte) (*gamev1.Envelope, error) {
	env := new(gamev1.Envelope)
	if err := DecodeInto(b, env, nil); err != nil {
		return nil, err
	}
	return env, nil
}

// Append appends env as one length-prefixed frame to dst and returns the
// result. It fails only for Route or Error strings that are not valid UTF-8
// (which no decoder would accept).
func Append(dst []byte, env *gamev1.Envelope) ([]byte, error) {
	if !utf8.ValidString(env.Route) || !utf8.ValidString(env.Error) {
		return dst, fmt.Errorf("wire: encoding frame: %w", errInvalidUTF8)
	}
	n := EnvelopeSize(env)
	dst = binary.BigEndian.AppendUint32(dst, uint32(n))
	return AppendEnvelope(dst, env), nil
}

// Write writes env as one length-prefixed frame to w in one Write call.
func Write(w io.Writer, env *gamev1.Envelope) error {
	b, err := Append(nil, env)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
