// Package gate holds the players' long-lived connections: TCP (length-prefixed
// Envelope frames, see package wire) and WebSocket (one binary message per
// Envelope). It authenticates the first frame with a signed single-use ticket,
// admits players up to a maximum online count and queues the rest in FIFO
// order at an admission rate, routes requests ("system.method") to function
// apps through an Invoker with a deadline, and delivers pushes published on its
// own push topic.
//
// Each connection has a read loop and a write loop. Outgoing frames go through
// a bounded queue; the write loop drains everything queued and writes it with
// one syscall, and a client that does not read fast enough is disconnected
// rather than buffered without bound. The write loop is the connection's only
// writer (WebSocket pongs are queued too) and sends nothing over the client's
// frame limit (MaxOutFrame): a response that would exceed it is answered
// BODY_TOO_LARGE, a push is dropped. Every client frame after login counts
// against the connection's token bucket, and persistent flooding is kicked.
// Queued sessions have an idle timeout and are told their position
// periodically. Every failure a client can cause is answered with a KICK or
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
