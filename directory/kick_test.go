package directory_test

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/directory"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

func TestKickerPublishesToThePlayersGate(t *testing.T) {
	ctx := context.Background()
	m := directory.NewMemory()
	pub := &recPublisher{}
	k := directory.Kicker{Locator: m, Publisher: pub}
	if err := k.Kick(ctx, "poffline", gamemesh.CodeKicked, "bye"); !errors.Is(err, gamemesh.ErrNotFound) {
		t.Fatalf("kick an offline player: %v, want NOT_FOUND", err)
	}
	if _, err := m.Register(ctx, "ponline", directory.Location{Gate: "gate-7", Session: "s42"}); err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]func() error{
		"bad player":   func() error { return k.Kick(ctx, "P!", gamemesh.CodeKicked, "bye") },
		"OK code":      func() error { return k.Kick(ctx, "ponline", gamemesh.CodeOK, "bye") },
		"unknown code": func() error { return k.Kick(ctx, "ponline", gamemesh.Code(9999), "bye") },
		"no reason":    func() error { return k.Kick(ctx, "ponline", gamemesh.CodeKicked, " ") },
		"no session": func() error {
			return directory.PublishKick(ctx, pub, "ponline", directory.Location{Gate: "g"}, gamemesh.CodeKicked, "bye")
		},
	} {
		if err := bad(); gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument || gamemesh.MessageOf(err) == "" {
			t.Errorf("%s: %v, want INVALID_ARGUMENT with a message", name, err)
		}
	}
	if len(pub.topics) != 0 {
		t.Fatalf("published %v for refused kicks", pub.topics)
	}

	if err := k.Kick(ctx, "ponline", gamemesh.CodeBanned, "banned"); err != nil {
		t.Fatal(err)
	}
	if len(pub.topics) != 1 || pub.topics[0] != directory.PushTopic("gate-7") || pub.events[0].ID == "" {
		t.Fatalf("published %v %v", pub.topics, pub.events)
	}
	var env gamev1.PushEnvelope
	if err := proto.Unmarshal(pub.events[0].Data, &env); err != nil {
		t.Fatal(err)
	}
	var body gamev1.KickSession
	if err := proto.Unmarshal(env.Body, &body); err != nil {
		t.Fatal(err)
	}
	if env.PlayerId != "ponline" || env.Route != directory.KickRoute || !directory.IsControlRoute(env.Route) ||
		body.SessionId != "s42" || body.Code != gamemesh.CodeBanned || body.Reason != "banned" {
		t.Fatalf("kick envelope %v body %v", &env, &body)
	}
}

func TestPusherRefusesControlRoutes(t *testing.T) {
	ctx := context.Background()
	m := directory.NewMemory()
	if _, err := m.Register(ctx, "ponline", directory.Location{Gate: "gate-7", Session: "s"}); err != nil {
		t.Fatal(err)
	}
	pub := &recPublisher{}
	err := directory.Pusher{Locator: m, Publisher: pub}.Push(ctx, "ponline", directory.KickRoute, nil)
	if gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
		t.Fatalf("push on a control route: %v, want INVALID_ARGUMENT", err)
	}
	if len(pub.topics) != 0 {
		t.Fatalf("published %v", pub.topics)
	}
}
