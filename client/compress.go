package client

import (
	"bytes"
	"compress/flate"
	"context"
	"io"
	"slices"
	"time"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// compressDeflate names the body compression the SDK offers: raw DEFLATE.
const compressDeflate = "deflate"

// codec is the body compression negotiated at login.
type codec struct{ min int }

// inflate decompresses env's body in place if the gate compressed it.
func (c *Conn) inflate(env *gamev1.Envelope) error {
	if !env.GetCompressed() {
		return nil
	}
	if c.codec == nil {
		return gamemesh.Errorf(gamemesh.CodeProtocol, "the gate sent a compressed body without negotiating it")
	}
	out, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(env.Body)), int64(c.opts.MaxFrame)+1))
	if err != nil || len(out) > c.opts.MaxFrame {
		return gamemesh.Errorf(gamemesh.CodeProtocol, "the gate sent a corrupt or oversize compressed body")
	}
	env.Body, env.Compressed = out, false
	return nil
}

// deflate compresses a request body worth compressing, or returns nil.
func (c *Conn) deflate(body []byte) []byte {
	if c.codec == nil || len(body) < c.codec.min {
		return nil
	}
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestSpeed)
	if err != nil {
		return nil
	}
	if _, err := w.Write(body); err != nil || w.Close() != nil || buf.Len() >= len(body) {
		return nil
	}
	return buf.Bytes()
}

// contextUntil is a context ending at deadline or when done is closed.
func contextUntil(deadline time.Time, done <-chan struct{}) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	go func() { // ends with ctx, which cancel ends
		select {
		case <-done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

func sortBySeq(envs []*gamev1.Envelope) {
	slices.SortFunc(envs, func(a, b *gamev1.Envelope) int {
		switch {
		case a.Seq < b.Seq:
			return -1
		case a.Seq > b.Seq:
			return 1
		}
		return 0
	})
}
