package client

import (
	"crypto/tls"
	"log/slog"
	"net"
	"time"

	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/wire"
)

// Defaults for the zero values of Options.
const (
	DefaultPushBuffer    = 256
	DefaultWriteTimeout  = 5 * time.Second
	DefaultLoginIdle     = 60 * time.Second
	sendQueue            = 64 // frames waiting for the write loop
	minHeartbeat         = 10 * time.Millisecond
	minReadTimeout       = time.Second
	readTimeoutHeartbeat = 3 // read timeout = this many heartbeat intervals
)

// Options tune a connection. The zero value is usable.
type Options struct {
	// OnQueue is called, from Dial's goroutine, with each queue position the
	// gate reports while the login waits (position 1 is next).
	OnQueue func(*gamev1.QueueStatus)
	// OnPush is called, from the connection's push goroutine, for each push
	// (route, body). It must return: pushes wait in a buffer of PushBuffer and
	// those that do not fit are dropped (DroppedPushes counts them). Close must
	// not be called from inside OnPush. Nil discards pushes.
	OnPush func(route string, body []byte)
	// PushBuffer is how many pushes may wait for OnPush (DefaultPushBuffer when 0).
	PushBuffer int
	// MaxFrame is the largest frame sent or accepted, in bytes
	// (wire.DefaultMaxFrame when 0). A larger incoming frame ends the session
	// with FRAME_TOO_LARGE; a larger request fails alone, before it is sent.
	MaxFrame int
	// HeartbeatInterval overrides the interval the gate asks for; negative
	// disables heartbeats (the gate will then time the session out). Intervals
	// are at least 10 ms.
	HeartbeatInterval time.Duration
	// ReadTimeout ends the session with TIMEOUT when no frame arrives for that
	// long; 0 means three heartbeat intervals (at least one second), negative
	// means never.
	ReadTimeout time.Duration
	// WriteTimeout bounds each frame write and the WebSocket handshake
	// (DefaultWriteTimeout when 0). A write that times out ends the session.
	WriteTimeout time.Duration
	// LoginIdle bounds the wait for each frame during login, queue updates
	// included (DefaultLoginIdle when 0); ctx bounds the login as a whole.
	LoginIdle time.Duration
	// TLS configures tls:// and wss:// addresses (system defaults when nil).
	TLS *tls.Config
	// DisableResume asks the gate for a session that ends with its
	// connection. By default the session is resumable: a lost connection is
	// dialled again and the session resumed within the gate's grace period,
	// without the caller noticing more than a slower call.
	DisableResume bool
	// DisableCompression offers the gate no body compression (by default
	// DEFLATE is offered, and large bodies travel compressed both ways).
	DisableCompression bool
	// LocalIP, when set, is the local address connections are made from (a
	// load driver spreads its connections over 127.0.0.x this way).
	LocalIP net.IP
	// OnResume is called, from the connection's goroutine, after each
	// resume with how long it took from the loss of the connection.
	OnResume func(took time.Duration)
	// Logger receives the connection's debug logs (discarded when nil).
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.PushBuffer <= 0 {
		o.PushBuffer = DefaultPushBuffer
	}
	if o.MaxFrame <= 0 {
		o.MaxFrame = wire.DefaultMaxFrame
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.LoginIdle <= 0 {
		o.LoginIdle = DefaultLoginIdle
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// heartbeat returns the interval to use given the gate's request.
func (o Options) heartbeat(serverMs int64) time.Duration {
	switch {
	case o.HeartbeatInterval < 0:
		return 0
	case o.HeartbeatInterval > 0:
		return max(o.HeartbeatInterval, minHeartbeat)
	case serverMs <= 0:
		return 0
	}
	return max(time.Duration(serverMs)*time.Millisecond, minHeartbeat)
}

// readTimeout returns the idle limit given the heartbeat interval in use.
func (o Options) readTimeout(hb time.Duration) time.Duration {
	switch {
	case o.ReadTimeout < 0:
		return 0
	case o.ReadTimeout > 0:
		return o.ReadTimeout
	case hb <= 0:
		return 0
	}
	return max(readTimeoutHeartbeat*hb, minReadTimeout)
}
