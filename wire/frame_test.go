package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"

	"google.golang.org/protobuf/proto"

	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	in := []*gamev1.Envelope{
		{Kind: gamev1.Kind_KIND_REQUEST, Seq: 1, Route: "mail.list", Body: []byte{1, 2, 3}},
		{Kind: gamev1.Kind_KIND_HEARTBEAT, Seq: 2},
	}
	for _, e := range in {
		if err := Write(&buf, e); err != nil {
			t.Fatal(err)
		}
	}
	r := NewReader(&buf, 0)
	for _, want := range in {
		got, err := r.Read()
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(got, want) {
			t.Fatalf("got %v want %v", got, want)
		}
	}
	if _, err := r.Read(); !errors.Is(err, io.EOF) {
		t.Fatalf("after last frame: %v, want EOF", err)
	}
}

func TestOversizeRefusedBeforeAllocating(t *testing.T) {
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], 1<<31)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := NewReader(bytes.NewReader(hdr[:]), 1024).ReadRaw()
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("err = %v, want ErrFrameTooLarge", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 16<<10 {
		t.Fatalf("%d bytes allocated for a 2 GiB header; the frame must be refused before allocating", n)
	}
}

func TestTruncated(t *testing.T) {
	b, _ := Append(nil, &gamev1.Envelope{Route: "mail.list", Body: []byte("hello")})
	for _, cut := range []int{2, 4, len(b) - 1} {
		_, err := NewReader(bytes.NewReader(b[:cut]), 0).ReadRaw()
		if !errors.Is(err, ErrTruncated) {
			t.Fatalf("cut at %d: err = %v, want ErrTruncated", cut, err)
		}
	}
}

func TestGarbage(t *testing.T) {
	var buf bytes.Buffer
	buf.Write([]byte{0, 0, 0, 3, 0xff, 0xff, 0xff})
	if _, err := NewReader(&buf, 0).Read(); !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v, want ErrMalformed", err)
	}
}
