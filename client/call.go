package client

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/wire"
)

// Call sends in on route ("system.method") and decodes the answer into out.
// A refused call returns the gate's *gamemesh.Error (code and message); see
// CallRaw for the other errors.
func (c *Conn) Call(ctx context.Context, route string, in, out proto.Message) error {
	body, err := proto.Marshal(in)
	if err != nil {
		return gamemesh.Wrap(gamemesh.CodeInvalidArgument, err, "encoding the request of "+route)
	}
	resp, err := c.CallRaw(ctx, route, body)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := proto.Unmarshal(resp, out); err != nil {
		return gamemesh.Wrap(gamemesh.CodeProtocol, err, "malformed response body from "+route)
	}
	return nil
}

// CallRaw sends body on route and returns the response body. Errors are
// *gamemesh.Error: the gate's code for a refused call (RATE_LIMITED,
// NOT_FOUND...), DEADLINE_EXCEEDED or UNAVAILABLE when ctx ends first,
// FRAME_TOO_LARGE (session intact) for a request over the frame limit, and
// the session's end reason (the kick's code, or UNAVAILABLE) when the session
// ends before the answer.
func (c *Conn) CallRaw(ctx context.Context, route string, body []byte) ([]byte, error) {
	if _, _, ok := gamemesh.Route(route).Split(); !ok {
		return nil, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "route %q is not system.method", route)
	}
	if err := ctx.Err(); err != nil {
		return nil, ctxError(ctx, route)
	}
	// Seq is the one this request is about to get (enqueue sets the real one,
	// the same size unless other calls cross a power of 128 meanwhile).
	env := &gamev1.Envelope{Kind: gamev1.Kind_KIND_REQUEST, Seq: c.seq.Load() + 1, Route: route, Body: body}
	if z := c.deflate(body); z != nil {
		env.Body, env.Compressed = z, true
	}
	if n := wire.EnvelopeSize(env); n > c.opts.MaxFrame {
		return nil, gamemesh.Errorf(gamemesh.CodeFrameTooLarge, "request of %s is %d bytes, limit %d", route, n, c.opts.MaxFrame)
	}
	ch := make(chan *gamev1.Envelope, 1)
	seq, err := c.enqueue(ctx, env, ch)
	if err != nil {
		return nil, err
	}
	defer func() {
		c.mu.Lock()
		delete(c.pending, seq)
		c.mu.Unlock()
	}()

	select {
	case resp := <-ch:
		return result(resp)
	case <-ctx.Done():
		return nil, ctxError(ctx, route)
	case <-c.done:
		select {
		case resp := <-ch: // answered just before the end
			return result(resp)
		default:
			return nil, c.Err()
		}
	}
}

// enqueue numbers env, registers it as pending on ch and queues it for the
// write loop, all under sendMu: requests reach the gate in seq order.
func (c *Conn) enqueue(ctx context.Context, env *gamev1.Envelope, ch chan *gamev1.Envelope) (uint64, error) {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	seq := c.seq.Add(1)
	env.Seq = seq
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return 0, err
	}
	c.pending[seq] = &call{req: env, ch: ch}
	c.mu.Unlock()
	select {
	case c.out <- env:
		return seq, nil
	case <-ctx.Done():
	case <-c.done:
	}
	c.mu.Lock()
	delete(c.pending, seq)
	err := c.err
	c.mu.Unlock()
	if ctx.Err() != nil {
		return 0, ctxError(ctx, env.Route)
	}
	return 0, err
}

func result(resp *gamev1.Envelope) ([]byte, error) {
	if code := resp.GetCode(); code != gamemesh.CodeOK {
		return nil, &gamemesh.Error{Code: code, Message: resp.GetError()}
	}
	return resp.GetBody(), nil
}

func ctxError(ctx context.Context, route string) error {
	err := ctx.Err()
	return gamemesh.Wrap(gamemesh.CodeOf(err), err, fmt.Sprintf("%s: %v", route, err))
}
