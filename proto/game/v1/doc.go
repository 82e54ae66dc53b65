// Package gamev1 is the client protocol and the messages functions exchange:
// the frame Envelope, login, mail and player messages, and the ErrorCode
// catalogue that every client-facing error uses.
//
// The .pb.go files are generated and committed; after editing a .proto file run
//
//	go generate ./proto/...
//
// (protoc from Debian's protobuf-compiler package; protoc-gen-go is pinned in go.mod).
package gamev1

//go:generate ../../generate.sh
