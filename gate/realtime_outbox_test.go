package gate

import (
	"errors"
	"testing"

	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// A scene batch for one session is queued in one step (so the write loop
// takes it, and writes it, at once), only after the login response, and
// never beyond the queue's bound.
func TestPutManyQueuesABatchAtOnce(t *testing.T) {
	o := newOutbox(4)
	batch := []*gamev1.Envelope{{Kind: gamev1.Kind_KIND_RESPONSE, ReplyTo: 1}, {Kind: gamev1.Kind_KIND_PUSH, Route: "scene.update"}}
	if err := o.putMany(batch); !errors.Is(err, errOutClosed) {
		t.Fatalf("before the login response: %v", err)
	}
	if err := o.putLogin(&gamev1.Envelope{Kind: gamev1.Kind_KIND_RESPONSE, Route: "login"}); err != nil {
		t.Fatal(err)
	}
	if err := o.putMany(batch); err != nil {
		t.Fatal(err)
	}
	frames, _, _, _ := o.take(nil)
	if len(frames) != 3 || frames[1] != batch[0] || frames[2] != batch[1] {
		t.Fatalf("one take = %v", frames)
	}
	if err := o.putMany(append(batch, batch...)); err != nil { // 4 fit
		t.Fatal(err)
	}
	if err := o.putMany(batch[:1]); !errors.Is(err, errOutFull) {
		t.Fatalf("over the bound: %v", err)
	}
	if err := o.putMany(nil); err != nil {
		t.Fatalf("empty batch: %v", err)
	}
}
