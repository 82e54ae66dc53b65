// Package ticket signs and verifies the short-lived login tickets that the
// login function issues and gates accept in a client's first frame.
//
// A ticket is a JWT (HS256) with subject = player id, a unique id (jti, used
// once: the gate records it), issued-at and a required expiry. The secret comes
// from configuration or the secret store, never from code. Tokens longer than
// MaxTokenLen are refused before parsing.
package ticket
