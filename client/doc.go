// Package client is the Go client SDK for a gamemesh gate: the reference for
// game clients, and what the bots and the end-to-end tests use.
//
// A session starts with a ticket from the login function (GuestLogin), then
// Dial connects to a gate over TCP ("tcp://host:port", length-prefixed frames,
// see package wire) or WebSocket ("ws://host:port/ws", one binary message per
// frame), presents the ticket, waits through the login queue if any, and
// returns a logged-in *Conn.
//
// A Conn is safe for concurrent use: Call and CallRaw send a request numbered
// by the connection and wait for the response with that number, so responses
// may arrive in any order. Pushes are handed to Options.OnPush through a
// bounded buffer (a slow handler loses pushes, counted by DroppedPushes, and
// never stalls responses). Heartbeats are sent at the interval the gate asked
// for. Every error a caller sees is a *gamemesh.Error whose code comes from the
// catalogue: the gate's code for a refused call, the kick's code when the gate
// ended the session, UNAVAILABLE when the connection was lost or closed.
//
// Sessions are resumable by default: when the connection drops, the Conn
// dials again and presents its resume token within the gate's grace period;
// the gate replays what the client missed (every frame carries the
// acknowledgement of what was received), requests still waiting are sent
// again and answered once, and callers only see a slower call. Close tells
// the gate the player is leaving (LOGOUT), so nothing is kept for a resume.
// Bodies of at least the negotiated size travel DEFLATE-compressed both ways.
//
// Each Conn owns three goroutines (read loop, write loop with the heartbeat,
// push dispatch); Close stops them and waits for them.
package client
