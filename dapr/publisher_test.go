package dapr

import (
	"context"
	"testing"

	"github.com/gamemesh/gamemesh"
)

func TestPublisherCarriesEventID(t *testing.T) {
	f := &fakeDaprd{}
	p := NewPublisher(startFake(t, f), "pubsub")
	if err := p.Publish(context.Background(), "game.events", gamemesh.Event{ID: "ev-1", Data: []byte{0, 0xff}}); err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(context.Background(), "game.events", gamemesh.Event{}); err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(context.Background(), "", gamemesh.Event{ID: "x"}); gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
		t.Fatalf("empty topic: %v", err)
	}
	if len(f.publishes) != 2 {
		t.Fatalf("%d publishes reached the sidecar, want 2", len(f.publishes))
	}
	first, second := f.publishes[0], f.publishes[1]
	if first.GetPubsubName() != "pubsub" || first.GetTopic() != "game.events" || string(first.GetData()) != "\x00\xff" {
		t.Fatalf("published %v", first)
	}
	if first.GetMetadata()[cloudEventIDKey] != "ev-1" || first.GetDataContentType() != eventContentType {
		t.Fatalf("event id / content type not carried: %v", first)
	}
	if id := second.GetMetadata()[cloudEventIDKey]; !gamemesh.ValidKeyPart(id) {
		t.Fatalf("event without ID got id %q, want a fresh one", id)
	}
}
