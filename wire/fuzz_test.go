package wire

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"google.golang.org/protobuf/proto"

	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

func fuzzEnvelopes() []*gamev1.Envelope {
	return []*gamev1.Envelope{
		{},
		{Kind: gamev1.Kind_KIND_REQUEST, Seq: 1, Route: "mail.list", Body: []byte{1, 2, 3}, Ack: 9},
		{Kind: gamev1.Kind_KIND_RESPONSE, Seq: 1 << 40, ReplyTo: 7, Route: "é.ü", Code: 15, Error: "not found", Compressed: true},
		{Kind: -1, Code: -5, Body: []byte{}},
	}
}

// FuzzDecode checks the reflection-free decoder against proto.Unmarshal:
// both accept or both refuse every input, and agree on every field.
func FuzzDecode(f *testing.F) {
	for _, env := range fuzzEnvelopes() {
		b, _ := proto.Marshal(env)
		f.Add(b)
	}
	f.Add([]byte{0x08, 0x96, 0x01, 0x22, 0x02, 0xff, 0xfe}) // invalid UTF-8 route
	f.Add([]byte{0x0a, 0x01, 0x00})                         // kind with the bytes wire type
	f.Add([]byte{0x0b, 0x0c})                               // a group
	f.Add([]byte{0x00})                                     // field number 0
	f.Fuzz(func(t *testing.T, b []byte) {
		var got gamev1.Envelope
		err := DecodeInto(b, &got, nil)
		var want gamev1.Envelope
		werr := proto.Unmarshal(b, &want)
		if (err == nil) != (werr == nil) {
			t.Fatalf("DecodeInto: %v, proto.Unmarshal: %v", err, werr)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		want.ProtoReflect().SetUnknown(nil) // the gate has no use for unknown fields
		if !proto.Equal(&got, &want) {
			t.Fatalf("DecodeInto %v, proto.Unmarshal %v", &got, &want)
		}
		// Interned routes decode to the same value.
		var interned gamev1.Envelope
		if err := DecodeInto(b, &interned, func(r []byte) string { return string(r) }); err != nil || !proto.Equal(&interned, &got) {
			t.Fatalf("with interning: %v %v", &interned, err)
		}
		// What decodes re-encodes as proto.Marshal does, and decodes back.
		enc := AppendEnvelope(nil, &got)
		if len(enc) != EnvelopeSize(&got) {
			t.Fatalf("AppendEnvelope wrote %d bytes, EnvelopeSize says %d", len(enc), EnvelopeSize(&got))
		}
		std, err := proto.MarshalOptions{Deterministic: true}.Marshal(&got)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, std) {
			t.Fatalf("AppendEnvelope % x, proto.Marshal % x", enc, std)
		}
	})
}

// FuzzReadRaw feeds arbitrary byte streams to a frame reader with a small
// limit: it never panics, never returns a frame over the limit, ends with a
// known error, and reads back exactly the frames a stream was built from.
func FuzzReadRaw(f *testing.F) {
	var stream []byte
	for _, env := range fuzzEnvelopes() {
		stream, _ = Append(stream, env)
	}
	f.Add(stream)
	f.Add([]byte{0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1})
	f.Add([]byte{0, 0, 0, 5, 1, 2})
	const limit = 256
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReader(bytes.NewReader(b), limit)
		consumed := 0
		for {
			p, err := r.ReadRaw()
			if err != nil {
				switch {
				case errors.Is(err, io.EOF):
					if consumed != len(b) {
						t.Fatalf("EOF after %d of %d bytes", consumed, len(b))
					}
				case errors.Is(err, ErrTruncated), errors.Is(err, ErrFrameTooLarge):
				default:
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if len(p) > limit {
				t.Fatalf("frame of %d bytes over the limit %d", len(p), limit)
			}
			if !bytes.Equal(p, b[consumed+HeaderLen:consumed+HeaderLen+len(p)]) {
				t.Fatal("frame bytes differ from the stream")
			}
			consumed += HeaderLen + len(p)
		}
	})
}
