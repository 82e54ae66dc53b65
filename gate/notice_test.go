package gate

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/directory"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

func expectNotice(t *testing.T, c *client, want *gamev1.ServerNotice) {
	t.Helper()
	got := c.read()
	var n gamev1.ServerNotice
	if got.Kind != gamev1.Kind_KIND_PUSH || got.Route != directory.NoticePushRoute || proto.Unmarshal(got.Body, &n) != nil ||
		!proto.Equal(&n, want) {
		t.Fatalf("got %v, want a %s push of %v", got, directory.NoticePushRoute, want)
	}
}

func TestNoticeReachesEveryPlayerOnEveryGate(t *testing.T) {
	t.Parallel()
	dir, b := directory.NewMemory(), newBus()
	ga, gb := meshGate(t, "ga", dir, b, true), meshGate(t, "gb", dir, b, true)
	a1, a2, b1 := ga.dial(), ga.dial(), gb.dial()
	a1.login(ga, "p1")
	a2.login(ga, "p2")
	b1.login(gb, "p3")

	n := &gamev1.ServerNotice{Id: "n1", Text: "Maintenance at 03:00 UTC", SentAtMs: 1234}
	ctx := context.Background()
	for _, g := range []string{"ga", "gb"} {
		if err := directory.PublishNotice(ctx, b, g, "ev-"+g, n); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []*client{a1, a2, b1} {
		expectNotice(t, c, n)
		c.heartbeatRoundTrip() // once each, nothing more queued
	}
	if got := ga.g.Broadcast("system.test", nil); got != 2 {
		t.Fatalf("Broadcast on gate A reached %d sessions, want 2", got)
	}
}

func TestMalformedNoticesAreDropped(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	c := e.dial()
	c.login(e, "p1")
	noID, _ := proto.Marshal(&gamev1.ServerNotice{Text: "hello"})
	ctrl, _ := proto.Marshal(&gamev1.ServerNotice{Id: "n", Text: "two\nlines"})
	empty, _ := proto.Marshal(&gamev1.ServerNotice{Id: "n", Text: "  "})
	e.sub.push(t, "", directory.NoticeRoute, []byte{0xff, 0xff})
	e.sub.push(t, "", directory.NoticeRoute, noID)
	e.sub.push(t, "", directory.NoticeRoute, ctrl)
	e.sub.push(t, "", directory.NoticeRoute, empty)
	good := &gamev1.ServerNotice{Id: "n2", Text: "ok"}
	body, _ := proto.Marshal(good)
	e.sub.push(t, "", directory.NoticeRoute, body)
	expectNotice(t, c, good)
	c.heartbeatRoundTrip()
}

func TestPublishNoticeRefusesBadInput(t *testing.T) {
	t.Parallel()
	b := newBus()
	published := 0
	_ = b.Subscribe(context.Background(), gamemesh.Subscription{Topic: directory.PushTopic("g"), Handler: func(context.Context, gamemesh.Event) error {
		published++
		return nil
	}})
	ctx := context.Background()
	for name, n := range map[string]*gamev1.ServerNotice{
		"no id":    {Text: "x"},
		"empty":    {Id: "n"},
		"blank":    {Id: "n", Text: " \u3000 "},
		"control":  {Id: "n", Text: "bell\a"},
		"too long": {Id: "n", Text: strings.Repeat("x", directory.MaxNoticeLen+1)},
		"bad utf8": {Id: "n", Text: "\xff\xfe"},
	} {
		if err := directory.PublishNotice(ctx, b, "g", "ev", n); gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
			t.Errorf("%s: %v, want INVALID_ARGUMENT", name, err)
		}
	}
	if err := directory.PublishNotice(ctx, b, "", "ev", &gamev1.ServerNotice{Id: "n", Text: "x"}); gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
		t.Errorf("no gate: %v", err)
	}
	if published != 0 {
		t.Fatalf("%d refused notices were published", published)
	}
}
