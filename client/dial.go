package client

import (
	"context"
	"errors"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// Dial connects to the gate at addr ("tcp://host:port", "ws://host:port/ws",
// "tls://...", "wss://..." or a plain "host:port" for TCP), logs in with
// ticket and returns the session once the gate has accepted it. While the
// login waits in the gate's queue, each position is reported to
// opts.OnQueue. A refused login is a *gamemesh.Error with the gate's code
// (BAD_TICKET, TICKET_EXPIRED, TICKET_REPLAYED, BANNED, SERVER_FULL...); ctx
// bounds the whole login, queue included.
func Dial(ctx context.Context, addr, ticket string, opts Options) (*Conn, error) {
	if ticket == "" {
		return nil, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "ticket is empty")
	}
	opts = opts.withDefaults()
	t, err := dialTransport(ctx, addr, &opts)
	if err != nil {
		return nil, err
	}
	req := &gamev1.LoginRequest{Ticket: ticket, Resumable: !opts.DisableResume}
	if !opts.DisableCompression {
		req.Compression = []string{compressDeflate}
	}
	lr, err := login(ctx, t, req, &opts)
	if err != nil {
		_ = t.close()
		return nil, err
	}
	return newConn(addr, t, opts, lr), nil
}

// login runs the handshake on t: the LOGIN frame (a ticket, or a resume
// token), then QUEUE frames until the login RESPONSE or a KICK.
func login(ctx context.Context, t transport, req *gamev1.LoginRequest, opts *Options) (*gamev1.LoginResponse, error) {
	stop := context.AfterFunc(ctx, t.interrupt)
	lr, err := handshake(t, req, opts)
	if !stop() {
		return nil, ctxError(ctx, "login")
	}
	if err != nil {
		return nil, err
	}
	if err := t.setReadDeadline(time.Time{}); err != nil {
		return nil, gamemesh.Wrap(gamemesh.CodeUnavailable, err, "connection to the gate lost")
	}
	return lr, nil
}

func handshake(t transport, req *gamev1.LoginRequest, opts *Options) (*gamev1.LoginResponse, error) {
	body, err := proto.Marshal(req)
	if err != nil {
		return nil, gamemesh.Wrap(gamemesh.CodeInternal, err, "encoding the login")
	}
	if err := t.write(&gamev1.Envelope{Kind: gamev1.Kind_KIND_LOGIN, Body: body}, time.Now().Add(opts.WriteTimeout)); err != nil {
		return nil, loginIOError(err)
	}
	// While the login waits (in the queue, for instance) the gate may send
	// nothing for long: heartbeats keep the connection alive and the gate's
	// echoes keep this side's read deadline moving.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(min(queueHeartbeat, opts.LoginIdle/3))
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if t.write(&gamev1.Envelope{Kind: gamev1.Kind_KIND_HEARTBEAT}, time.Now().Add(opts.WriteTimeout)) != nil {
					return
				}
			}
		}
	}()
	defer func() {
		close(stop)
		wg.Wait()
	}()
	for {
		if err := t.setReadDeadline(time.Now().Add(opts.LoginIdle)); err != nil {
			return nil, loginIOError(err)
		}
		env, err := t.read()
		if err != nil {
			return nil, loginIOError(err)
		}
		switch env.GetKind() {
		case gamev1.Kind_KIND_QUEUE:
			qs := new(gamev1.QueueStatus)
			if err := proto.Unmarshal(env.GetBody(), qs); err != nil {
				return nil, gamemesh.Wrap(gamemesh.CodeProtocol, err, "malformed queue status")
			}
			if opts.OnQueue != nil {
				opts.OnQueue(qs)
			}
		case gamev1.Kind_KIND_KICK:
			return nil, kickError(env)
		case gamev1.Kind_KIND_RESPONSE:
			if env.GetReplyTo() != 0 {
				continue
			}
			if env.GetCode() != gamemesh.CodeOK {
				return nil, &gamemesh.Error{Code: env.GetCode(), Message: env.GetError()}
			}
			lr := new(gamev1.LoginResponse)
			if err := proto.Unmarshal(env.GetBody(), lr); err != nil {
				return nil, gamemesh.Wrap(gamemesh.CodeProtocol, err, "malformed login response")
			}
			if lr.GetPlayerId() == "" {
				return nil, gamemesh.Errorf(gamemesh.CodeProtocol, "login response without a player id")
			}
			return lr, nil
		default:
			// heartbeats or pushes before the login answer: nothing to do
		}
	}
}

// queueHeartbeat is how often (at most) a client waiting for its login answer
// sends a heartbeat; a third of LoginIdle when that is shorter.
const queueHeartbeat = 5 * time.Second

func loginIOError(err error) error {
	if isTimeout(err) {
		return gamemesh.Wrap(gamemesh.CodeTimeout, err, "the gate did not answer the login")
	}
	var lost lostError
	if err = transportError(err); errors.As(err, &lost) {
		return lost.err
	}
	return err
}
