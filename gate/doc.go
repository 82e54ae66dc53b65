// Package gate holds the players' long-lived connections: TCP (length-prefixed
// Envelope frames, see package wire) and WebSocket (one binary message per
// Envelope). It authenticates the first frame with a signed single-use ticket,
// admits players up to a maximum online count and queues the rest in FIFO
// order at an admission rate, routes requests ("system.method") to function
// apps through an Invoker with a deadline, and delivers pushes published on its
// own push topic.
//
// Each connection has one goroutine, its read loop, and holds no buffer while
// it waits: TCP is read straight from the socket into a pooled chunk taken
// only while bytes are there. Outgoing frames are encoded at once into a
// pooled buffer, numbered in order (see outbox); whoever finds no write in
// progress writes everything queued with one syscall and loops until nothing
// is left, so there is no writer goroutine parked per connection. A client
// that does not read fast enough is disconnected rather than buffered without
// bound, and nothing over its frame limit (MaxOutFrame) is sent: a response
// that would exceed it is answered BODY_TOO_LARGE, a push is dropped.
//
// Calls run on the read loop itself, so that a fast call costs no goroutine
// hand-off and the answers to a pipelined batch leave in one write; a call
// still running once a batch has taken inlineBudget moves the read loop to a
// new goroutine, which goes on reading while the slow call finishes (see
// runInline).
//
// A client may ask for a resumable session (LoginRequest.resumable): when its
// connection drops, the session is kept for ResumeGrace (holding its slot and
// directory entry, so pushes still reach it), every frame the client has not
// acknowledged is kept in a bounded replay buffer, and a reconnect with the
// resume token gets the frames it missed in order and goes on; a request it
// repeats is answered from that buffer or by the call still in flight, never
// run twice. Bodies of at least CompressMin bytes are compressed (DEFLATE)
// for clients that negotiated it, and both listeners may serve TLS. Every client frame after login counts
// against the connection's token bucket, and persistent flooding is kicked.
// Queued sessions have an idle timeout and are told their position
// periodically. Every login passes the admission rate (a storm queues even
// while slots are free), and queued logins are registered in the directory,
// so that a login of the same player on another gate kicks them. Each client
// address may have only so many connections that have not logged in yet, and
// open them and ask for guest tickets only so fast (per-IP limits). Every failure a client can cause is answered with a KICK or
// RESPONSE frame carrying a code from the catalogue.
//
// The HTTP listener bounds each request's body and answer in time
// (HTTPTimeout) and rate-limits the guest login over all clients. It serves
// GET /metrics when Deps.MetricsHandler is set.
//
// With Deps.Metrics set the gate keeps Prometheus metrics (gamemesh_gate_*):
// open connections, online sessions and queued logins, connections accepted,
// logins by result code, kicks by code, frames in, out and rate-limited,
// requests refused without a call, and a call latency histogram by route and
// result code. Route labels are bounded: a route gets its own label only once
// a call shows it exists, and at most maxRouteLabels routes do; the rest share
// "other".
//
// Live ops reach a running gate without a restart: Deps.Features (optional)
// switches systems off, and a request to a switched-off system is answered
// FEATURE_DISABLED before any call leaves; SetLimits changes max online,
// queue cap, admission rate and per-connection rate limits under load.
//
// The push topic also carries control messages for the gate itself (routes
// starting with "gate.", never delivered to a client): "gate.kick" kicks a
// player's session if it is the session named, so a stale kick never hits a
// newer session. With Deps.Publisher set, a login here whose player was
// registered on another gate sends that gate such a kick (KICKED), so a
// player is online once across gates; directory.Kicker sends them for
// operators.
//
// The lifecycle is explicit: New validates, Start listens and subscribes, Stop
// stops accepting, lets in-flight calls finish, kicks every session with
// SHUTTING_DOWN and waits for every goroutine it started.
package gate
