// Package clienttest is a small in-process stand-in for a gamemesh gate and
// its guest login endpoint, speaking the client protocol on loopback: for the
// tests of package client, of the bots, and of anything built on the SDK that
// should not need a real backend.
//
// A Server issues single-use tickets over HTTP (POST /v1/login/guest), accepts
// logins over TCP and WebSocket (/ws), optionally queues them, answers
// heartbeats, hands each request to a Handler on its own goroutine (so answers
// may come back out of order), and lets a test push, kick or send any frame.
// It implements no real game: routes are whatever the Handler answers.
package clienttest
