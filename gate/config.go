package gate

import (
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/ticket"
	"github.com/gamemesh/gamemesh/wire"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultHandshakeTimeout  = 5 * time.Second
	DefaultHeartbeatInterval = 10 * time.Second
	DefaultWriteTimeout      = 10 * time.Second
	DefaultOutQueue          = 256
	DefaultRateLimit         = 50
	DefaultRateBurst         = 100
	DefaultMaxInflight       = 32
	DefaultMaxOnline         = 10_000
	DefaultQueueCap          = 5_000
	DefaultAdmissionRate     = 200
	DefaultMaxRateRefusals   = 100
	DefaultQueueIdleTimeout  = 20 * time.Second
	DefaultQueueKeepAlive    = 5 * time.Second
	DefaultHTTPTimeout       = 5 * time.Second
	DefaultGuestLoginRate    = 200
	DefaultGuestLoginBurst   = 400
	DefaultResumeGrace       = 30 * time.Second
	DefaultReplayFrames      = 512
	DefaultReplayBytes       = 256 << 10
	DefaultCompressMin       = 1024
	DefaultMaxPendingPerIP   = 256
	DefaultConnectRatePerIP  = 200
	DefaultConnectBurstPerIP = 400
	DefaultGuestRatePerIP    = 50
	DefaultGuestBurstPerIP   = 100
)

// Limits on MaxFrameSize: a frame must hold a login with the longest ticket,
// and no frame may ask the gate for more than MaxFrameLimit bytes.
const (
	MinFrameSize  = ticket.MaxTokenLen + 64
	MaxFrameLimit = 16 << 20
)

// Config configures a Gate. Zero fields take the defaults above.
type Config struct {
	// ID names the gate in the directory and in its push topic; it must be a
	// valid key part (2–64 characters of [a-z0-9_-]).
	ID string
	// TCPAddr is the TCP listen address ("host:port", port 0 picks one); ""
	// disables TCP.
	TCPAddr string
	// WSAddr is the HTTP listen address serving WebSocket at /ws, the guest
	// login at POST /v1/login/guest and GET /healthz; "" disables it.
	WSAddr string
	// MaxFrameSize is the largest incoming frame, in bytes (default
	// wire.DefaultMaxFrame). Larger frames are refused before allocation.
	MaxFrameSize int
	// MaxOutFrame is the largest frame sent to a client, in bytes (default
	// wire.DefaultMaxFrame, the client SDK's default limit: a larger frame
	// would end the client's session). A function's response that would
	// exceed it is answered BODY_TOO_LARGE instead; a larger push is dropped
	// and logged. The session goes on either way.
	MaxOutFrame int
	// HandshakeTimeout is how long a new connection has to send its login frame.
	HandshakeTimeout time.Duration
	// HeartbeatInterval is how often clients should send a heartbeat; it is
	// told to clients in the login response.
	HeartbeatInterval time.Duration
	// IdleTimeout closes a logged-in session that sent nothing for that long
	// (default 3 × HeartbeatInterval), rounded up by at most 1/16 (the
	// deadline is not moved on every frame).
	IdleTimeout time.Duration
	// QueueIdleTimeout closes a session waiting in the login queue that sent
	// nothing for that long (default 20 s, rounded up like IdleTimeout), so
	// that dead or silent sockets do not hold queue places. Clients send a
	// heartbeat at least every 5 s while they wait for their login answer.
	QueueIdleTimeout time.Duration
	// QueueKeepAlive is how often every queued client is told its position
	// even when it did not change (default 5 s): a keep-alive for clients
	// that do not heartbeat while they wait, and a write that finds dead sockets.
	QueueKeepAlive time.Duration
	// WriteTimeout bounds each write to a client.
	WriteTimeout time.Duration
	// OutQueue is how many outgoing frames may wait for a client; a client
	// whose queue overflows is disconnected as a slow consumer.
	OutQueue int
	// RateLimit is the sustained frames per second allowed per connection,
	// RateBurst the bucket size. Every client frame counts: requests,
	// heartbeats and WebSocket pings, logged in or queued. A request over the
	// limit is answered RATE_LIMITED; a heartbeat or ping over it is not
	// answered.
	RateLimit float64
	RateBurst int
	// MaxRateRefusals is how far a connection's refused frames may outnumber
	// its accepted ones before it is kicked with RATE_LIMITED (default
	// DefaultMaxRateRefusals): more refusals than this in a row always kick,
	// and refusals never cost much more than the traffic the limit allows.
	MaxRateRefusals int
	// MaxInflight is how many calls one connection may have in flight.
	MaxInflight int
	// MaxOnline is how many players are admitted at once; the others queue.
	MaxOnline int
	// QueueCap is how many logins may wait in the queue; beyond it a login is
	// refused with SERVER_FULL.
	QueueCap int
	// AdmissionRate is how many queued logins are admitted per second.
	AdmissionRate float64
	// CallDeadline is the deadline of each call the gate makes on a client's
	// behalf (default gamemesh.DefaultDeadline). Calls of one session that
	// start within CallDeadline/64 of each other share a deadline.
	CallDeadline time.Duration
	// HTTPTimeout bounds reading the body of each HTTP request and writing
	// each answer (default DefaultHTTPTimeout; headers are bounded by
	// HandshakeTimeout), so a client trickling bytes cannot hold a
	// connection. Upgraded WebSocket connections have their own deadlines.
	HTTPTimeout time.Duration
	// GuestLoginRate is how many guest logins per second the gate accepts
	// over all clients, GuestLoginBurst the bucket size (defaults
	// DefaultGuestLoginRate and DefaultGuestLoginBurst). Beyond it the
	// endpoint answers 429 with code RATE_LIMITED.
	GuestLoginRate  float64
	GuestLoginBurst int
	// CheckOrigin decides whether a WebSocket upgrade from a browser origin is
	// accepted; nil accepts requests without an Origin header or from the same host.
	CheckOrigin func(r *http.Request) bool

	// ResumeGrace is how long a resumable session outlives its connection
	// (default DefaultResumeGrace; negative: sessions are never resumable).
	// Meanwhile it holds its slot (a fresh login of the player takes it over
	// without queueing), its directory entry and its unacknowledged frames.
	ResumeGrace time.Duration
	// ReplayFrames and ReplayBytes bound the frames a resumable session keeps
	// for its client until acknowledged (defaults DefaultReplayFrames and
	// DefaultReplayBytes); beyond them the oldest are dropped, and a client
	// that missed those cannot resume.
	ReplayFrames int
	ReplayBytes  int
	// CompressMin is the smallest body compressed for a client that
	// negotiated compression (default DefaultCompressMin; negative: the gate
	// offers no compression).
	CompressMin int
	// TLS, when set, serves both listeners over TLS (tls:// and wss://).
	TLS *tls.Config

	// MaxPendingPerIP is how many connections one address may have open
	// without having logged in (default DefaultMaxPendingPerIP);
	// ConnectRatePerIP and ConnectBurstPerIP bound how fast it may open
	// connections (defaults DefaultConnectRatePerIP, DefaultConnectBurstPerIP);
	// GuestRatePerIP and GuestBurstPerIP how fast it may ask for guest
	// tickets (defaults DefaultGuestRatePerIP, DefaultGuestBurstPerIP). A
	// refused connection gets a KICK (WebSocket: HTTP 429) with RATE_LIMITED.
	MaxPendingPerIP   int
	ConnectRatePerIP  float64
	ConnectBurstPerIP int
	GuestRatePerIP    float64
	GuestBurstPerIP   int
}

// withDefaults returns c with every zero field set to its default. It is the
// one place where defaults are applied.
func (c Config) withDefaults() Config {
	if c.MaxFrameSize == 0 {
		c.MaxFrameSize = wire.DefaultMaxFrame
	}
	if c.MaxOutFrame == 0 {
		c.MaxOutFrame = wire.DefaultMaxFrame
	}
	if c.HandshakeTimeout == 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 3 * c.HeartbeatInterval
	}
	if c.QueueIdleTimeout == 0 {
		c.QueueIdleTimeout = DefaultQueueIdleTimeout
	}
	if c.QueueKeepAlive == 0 {
		c.QueueKeepAlive = DefaultQueueKeepAlive
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.OutQueue == 0 {
		c.OutQueue = DefaultOutQueue
	}
	if c.RateLimit == 0 {
		c.RateLimit = DefaultRateLimit
	}
	if c.RateBurst == 0 {
		c.RateBurst = DefaultRateBurst
	}
	if c.MaxRateRefusals == 0 {
		c.MaxRateRefusals = DefaultMaxRateRefusals
	}
	if c.MaxInflight == 0 {
		c.MaxInflight = DefaultMaxInflight
	}
	if c.MaxOnline == 0 {
		c.MaxOnline = DefaultMaxOnline
	}
	if c.QueueCap == 0 {
		c.QueueCap = DefaultQueueCap
	}
	if c.AdmissionRate == 0 {
		c.AdmissionRate = DefaultAdmissionRate
	}
	if c.CallDeadline == 0 {
		c.CallDeadline = gamemesh.DefaultDeadline
	}
	if c.HTTPTimeout == 0 {
		c.HTTPTimeout = DefaultHTTPTimeout
	}
	if c.GuestLoginRate == 0 {
		c.GuestLoginRate = DefaultGuestLoginRate
	}
	if c.GuestLoginBurst == 0 {
		c.GuestLoginBurst = DefaultGuestLoginBurst
	}
	if c.ResumeGrace == 0 {
		c.ResumeGrace = DefaultResumeGrace
	}
	if c.ReplayFrames == 0 {
		c.ReplayFrames = DefaultReplayFrames
	}
	if c.ReplayBytes == 0 {
		c.ReplayBytes = DefaultReplayBytes
	}
	if c.CompressMin == 0 {
		c.CompressMin = DefaultCompressMin
	}
	if c.MaxPendingPerIP == 0 {
		c.MaxPendingPerIP = DefaultMaxPendingPerIP
	}
	if c.ConnectRatePerIP == 0 {
		c.ConnectRatePerIP = DefaultConnectRatePerIP
	}
	if c.ConnectBurstPerIP == 0 {
		c.ConnectBurstPerIP = DefaultConnectBurstPerIP
	}
	if c.GuestRatePerIP == 0 {
		c.GuestRatePerIP = DefaultGuestRatePerIP
	}
	if c.GuestBurstPerIP == 0 {
		c.GuestBurstPerIP = DefaultGuestBurstPerIP
	}
	return c
}

// admissionBurst is the admission limiter's bucket: 1/20 s of the rate, so
// that a trickle of logins is admitted at once and a storm queues.
func admissionBurst(r float64) int { return max(1, int(r/20)) }

// validate reports every problem of a defaulted Config at once.
func (c Config) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("gate: config: "+format, args...)) }
	if !gamemesh.ValidKeyPart(c.ID) {
		bad("ID %q must be 2 to 64 characters of [a-z0-9_-]", c.ID)
	}
	if c.TCPAddr == "" && c.WSAddr == "" {
		bad("at least one of TCPAddr and WSAddr is required")
	}
	if c.MaxFrameSize < MinFrameSize || c.MaxFrameSize > MaxFrameLimit {
		bad("MaxFrameSize %d out of range [%d, %d]", c.MaxFrameSize, MinFrameSize, MaxFrameLimit)
	}
	if c.MaxOutFrame < MinFrameSize || c.MaxOutFrame > MaxFrameLimit {
		bad("MaxOutFrame %d out of range [%d, %d]", c.MaxOutFrame, MinFrameSize, MaxFrameLimit)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"HandshakeTimeout", c.HandshakeTimeout}, {"HeartbeatInterval", c.HeartbeatInterval},
		{"IdleTimeout", c.IdleTimeout}, {"WriteTimeout", c.WriteTimeout}, {"CallDeadline", c.CallDeadline},
		{"QueueIdleTimeout", c.QueueIdleTimeout}, {"QueueKeepAlive", c.QueueKeepAlive}, {"HTTPTimeout", c.HTTPTimeout},
	} {
		if d.v < 0 {
			bad("%s %v must be positive", d.name, d.v)
		}
	}
	if c.IdleTimeout > 0 && c.HeartbeatInterval > 0 && c.IdleTimeout <= c.HeartbeatInterval {
		bad("IdleTimeout %v must exceed HeartbeatInterval %v", c.IdleTimeout, c.HeartbeatInterval)
	}
	for _, n := range []struct {
		name string
		v    int
	}{
		{"OutQueue", c.OutQueue}, {"RateBurst", c.RateBurst}, {"MaxInflight", c.MaxInflight},
		{"MaxOnline", c.MaxOnline}, {"QueueCap", c.QueueCap}, {"MaxRateRefusals", c.MaxRateRefusals},
		{"GuestLoginBurst", c.GuestLoginBurst}, {"ReplayFrames", c.ReplayFrames}, {"ReplayBytes", c.ReplayBytes},
		{"MaxPendingPerIP", c.MaxPendingPerIP}, {"ConnectBurstPerIP", c.ConnectBurstPerIP}, {"GuestBurstPerIP", c.GuestBurstPerIP},
	} {
		if n.v < 0 {
			bad("%s %d must be positive", n.name, n.v)
		}
	}
	if !(c.RateLimit > 0) || math.IsInf(c.RateLimit, 0) {
		bad("RateLimit %v must be a positive number", c.RateLimit)
	}
	if !(c.AdmissionRate > 0) || math.IsInf(c.AdmissionRate, 0) {
		bad("AdmissionRate %v must be a positive number", c.AdmissionRate)
	}
	for _, r := range []struct {
		name string
		v    float64
	}{{"GuestLoginRate", c.GuestLoginRate}, {"ConnectRatePerIP", c.ConnectRatePerIP}, {"GuestRatePerIP", c.GuestRatePerIP}} {
		if !(r.v > 0) || math.IsInf(r.v, 0) {
			bad("%s %v must be a positive number", r.name, r.v)
		}
	}
	return errors.Join(errs...)
}
