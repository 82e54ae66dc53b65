package gate

import (
	"context"
	"errors"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/directory"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// bus is an in-test pub/sub shared by several gates: Publish hands the event
// at once to every handler subscribed to its topic.
type bus struct {
	mu   sync.Mutex
	subs map[string][]gamemesh.EventHandler
}

func newBus() *bus { return &bus{subs: map[string][]gamemesh.EventHandler{}} }

func (b *bus) Subscribe(_ context.Context, s gamemesh.Subscription) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subs[s.Topic] = append(b.subs[s.Topic], s.Handler)
	return nil
}

func (b *bus) Publish(ctx context.Context, topic string, ev gamemesh.Event) error {
	b.mu.Lock()
	hs := append([]gamemesh.EventHandler(nil), b.subs[topic]...)
	b.mu.Unlock()
	ev.Topic, ev.Attempt = topic, 1
	for _, h := range hs {
		if err := h(ctx, ev); err != nil {
			return err
		}
	}
	return nil
}

// meshGate starts a gate with id on the shared directory and bus (publishing
// control messages only if publish).
func meshGate(t *testing.T, id string, dir *directory.Memory, b *bus, publish bool) *env {
	t.Helper()
	e := newEnvDeps(t, func(c *Config) { c.ID = id }, nil, func(d *Deps) {
		d.Directory, d.Subscriber = dir, b
		if publish {
			d.Publisher = b
		}
	})
	e.dir = dir
	return e
}

func TestLoginOnAnotherGateKicksOlderSession(t *testing.T) {
	t.Parallel()
	dir, b := directory.NewMemory(), newBus()
	ga, gb := meshGate(t, "ga", dir, b, true), meshGate(t, "gb", dir, b, true)
	other := ga.dial()
	other.login(ga, "p2")
	ca := ga.dial()
	ca.login(ga, "p1")
	cb := gb.dial()
	rb := cb.login(gb, "p1")

	kick := ca.expectKick(gamemesh.CodeKicked)
	if !contains(kick.Error, "elsewhere") {
		t.Fatalf("kick message %q", kick.Error)
	}
	eventually(t, "older session released on gate A", func() bool { return ga.g.Online() == 1 })
	loc, err := dir.Locate(context.Background(), "p1")
	if err != nil || loc != (directory.Location{Gate: "gb", Session: rb.SessionId}) {
		t.Fatalf("directory has %v, %v; want gb/%s", loc, err, rb.SessionId)
	}
	seq := cb.request("echo.echo", []byte("still here"))
	cb.expectResponse(seq, gamemesh.CodeOK)
	other.heartbeatRoundTrip() // another player on gate A is untouched
}

func TestLoginOnAnotherGateWithoutPublisherKeepsOlderSession(t *testing.T) {
	t.Parallel()
	dir, b := directory.NewMemory(), newBus()
	ga, gb := meshGate(t, "ga", dir, b, false), meshGate(t, "gb", dir, b, false)
	ca := ga.dial()
	ca.login(ga, "p1")
	cb := gb.dial()
	cb.login(gb, "p1")
	ca.heartbeatRoundTrip()
	cb.heartbeatRoundTrip()
}

func TestStaleKickSparesNewerSession(t *testing.T) {
	t.Parallel()
	dir, b := directory.NewMemory(), newBus()
	e := meshGate(t, "g1", dir, b, true)
	first := e.dial()
	r1 := first.login(e, "p1")
	second := e.dial()
	r2 := second.login(e, "p1")
	first.expectKick(gamemesh.CodeKicked) // replaced on the same gate

	ctx := context.Background()
	if err := directory.PublishKick(ctx, b, "p1", directory.Location{Gate: "g1", Session: r1.SessionId},
		gamemesh.CodeBanned, "stale"); err != nil {
		t.Fatal(err)
	}
	second.heartbeatRoundTrip() // no KICK queued before the echo

	if err := directory.PublishKick(ctx, b, "p1", directory.Location{Gate: "g1", Session: r2.SessionId},
		gamemesh.CodeBanned, "banned for cheating"); err != nil {
		t.Fatal(err)
	}
	if got := second.expectKick(gamemesh.CodeBanned); got.Error != "banned for cheating" {
		t.Fatalf("kick message %q", got.Error)
	}
	eventually(t, "session released", func() bool { return e.g.Online() == 0 })
}

func TestKickerKicksOnThePlayersGate(t *testing.T) {
	t.Parallel()
	dir, b := directory.NewMemory(), newBus()
	ga, gb := meshGate(t, "ga", dir, b, true), meshGate(t, "gb", dir, b, true)
	ca := ga.dial()
	ca.login(ga, "p2")
	cb := gb.dial()
	cb.login(gb, "p1")

	k := directory.Kicker{Locator: dir, Publisher: b}
	ctx := context.Background()
	if err := k.Kick(ctx, "p9", gamemesh.CodeKicked, "x"); !errors.Is(err, gamemesh.ErrNotFound) {
		t.Fatalf("kick an offline player: %v, want NOT_FOUND", err)
	}
	if err := k.Kick(ctx, "p1", gamemesh.CodeBanned, "banned by an operator"); err != nil {
		t.Fatal(err)
	}
	if got := cb.expectKick(gamemesh.CodeBanned); got.Error != "banned by an operator" {
		t.Fatalf("kick message %q", got.Error)
	}
	ca.heartbeatRoundTrip()
	eventually(t, "session released on gate B", func() bool { return gb.g.Online() == 0 })
	if _, err := dir.Locate(ctx, "p1"); !errors.Is(err, gamemesh.ErrNotFound) {
		t.Fatalf("kicked player still in the directory: %v", err)
	}
}

func TestControlRoutesNeverReachClients(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	c := e.dial()
	resp := c.login(e, "p1")

	wrong, _ := proto.Marshal(&gamev1.KickSession{SessionId: "someone-else", Code: gamemesh.CodeKicked, Reason: "x"})
	noSession, _ := proto.Marshal(&gamev1.KickSession{Code: gamemesh.CodeKicked, Reason: "x"})
	unknown, _ := proto.Marshal(&gamev1.KickSession{SessionId: resp.SessionId, Code: gamemesh.CodeKicked, Reason: "x"})
	e.sub.push(t, "p1", directory.KickRoute, []byte{0xff, 0xff}) // malformed
	e.sub.push(t, "p1", directory.KickRoute, wrong)
	e.sub.push(t, "p1", directory.KickRoute, noSession)
	e.sub.push(t, "p1", "gate.unknown", unknown) // unknown control: not a kick either
	e.sub.push(t, "p1", "gate.", nil)
	e.sub.push(t, "p1", "mail.new", []byte("real"))

	got := c.read()
	if got.Kind != gamev1.Kind_KIND_PUSH || got.Route != "mail.new" || string(got.Body) != "real" {
		t.Fatalf("first frame after control messages: %v, want the mail.new push", got)
	}
	c.heartbeatRoundTrip()
}

func TestKickWithoutCodeUsesKicked(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil, nil)
	c := e.dial()
	resp := c.login(e, "p1")
	body, _ := proto.Marshal(&gamev1.KickSession{SessionId: resp.SessionId})
	e.sub.push(t, "p1", directory.KickRoute, body)
	c.expectKick(gamemesh.CodeKicked)
}
