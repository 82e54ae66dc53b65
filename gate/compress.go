package gate

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"sync"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// CompressDeflate names raw DEFLATE (RFC 1951), the body compression the
// gate offers: every language has it in its standard library.
const CompressDeflate = "deflate"

// codec compresses bodies of at least the gate's CompressMin bytes for a
// session that negotiated it at login. Compressors are pooled (each holds
// about a megabyte of state), so a session costs nothing for it while idle.
type codec struct {
	name    string
	writers sync.Pool // *flate.Writer
	readers sync.Pool // io.ReadCloser implementing flate.Resetter
}

var deflateCodec = &codec{name: CompressDeflate}

// negotiate picks the first compression offered that the gate has, nil for
// none (or when the gate compresses nothing).
func (g *Gate) negotiate(offered []string) *codec {
	if g.cfg.CompressMin < 0 {
		return nil
	}
	for _, name := range offered {
		if name == CompressDeflate {
			return deflateCodec
		}
	}
	return nil
}

// compress returns the body to send for env and whether it is compressed:
// responses and pushes of at least CompressMin bytes, when compressing saves
// something; anything else as it is.
func (s *session) compress(env *gamev1.Envelope) ([]byte, bool) {
	c := s.codec
	if c == nil || env.Compressed || len(env.Body) < s.g.cfg.CompressMin ||
		(env.Kind != gamev1.Kind_KIND_RESPONSE && env.Kind != gamev1.Kind_KIND_PUSH) {
		return env.Body, env.Compressed
	}
	out, err := c.deflate(env.Body)
	if err != nil || len(out) >= len(env.Body) {
		return env.Body, false
	}
	return out, true
}

func (c *codec) deflate(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(b)/2 + 64)
	w, _ := c.writers.Get().(*flate.Writer)
	if w == nil {
		var err error
		if w, err = flate.NewWriter(&buf, flate.BestSpeed); err != nil {
			return nil, err
		}
	} else {
		w.Reset(&buf)
	}
	defer c.writers.Put(w)
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

var errInflateTooLarge = errors.New("gate: decompressed body over the limit")

// inflate decompresses b, refusing more than limit bytes of output (a small
// body may inflate enormously).
func (c *codec) inflate(b []byte, limit int) ([]byte, error) {
	src := bytes.NewReader(b)
	r, _ := c.readers.Get().(io.ReadCloser)
	if r == nil {
		r = flate.NewReader(src)
	} else if err := r.(flate.Resetter).Reset(src, nil); err != nil {
		return nil, err
	}
	defer c.readers.Put(r)
	out, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(out) > limit {
		return nil, errInflateTooLarge
	}
	return out, nil
}

// requestBody returns the body of a client request, decompressed if it says
// it is compressed, or the error to answer with.
func (s *session) requestBody(env *gamev1.Envelope) ([]byte, error) {
	if !env.Compressed {
		return env.Body, nil
	}
	if s.codec == nil {
		return nil, gamemesh.Errorf(gamemesh.CodeBadRequest, "compressed body, but no compression was negotiated at login")
	}
	out, err := s.codec.inflate(env.Body, s.g.cfg.MaxFrameSize)
	switch {
	case errors.Is(err, errInflateTooLarge):
		return nil, gamemesh.Errorf(gamemesh.CodeBodyTooLarge, "decompressed body exceeds %d bytes", s.g.cfg.MaxFrameSize)
	case err != nil:
		return nil, gamemesh.Errorf(gamemesh.CodeBadRequest, "corrupt compressed body")
	}
	return out, nil
}
