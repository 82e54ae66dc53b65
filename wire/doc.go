// Package wire is the framing of the client protocol on a byte stream: each
// frame is a 4-byte big-endian length followed by that many bytes of a
// marshalled gamev1.Envelope. WebSocket carries the same Envelope bytes, one
// binary message per frame, without the length prefix.
//
// The length is checked against the reader's limit before any buffer for the
// frame is allocated.
package wire
