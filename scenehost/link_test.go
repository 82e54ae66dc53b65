package scenehost_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/scenehost"
)

// rawLink is a test gate speaking the link protocol to one host.
type rawLink struct {
	t      *testing.T
	cc     *grpc.ClientConn
	stream gamev1.SceneLink_LinkClient
	cancel context.CancelFunc
	outs   chan *gamev1.LinkOutput
}

func dialRaw(t *testing.T, h *scenehost.Host, gateID string) *rawLink {
	t.Helper()
	cc, err := grpc.NewClient(h.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	stream, err := gamev1.OpenSceneLink(ctx, cc)
	must(t, err)
	must(t, stream.Send(&gamev1.LinkUp{GateId: gateID}))
	l := &rawLink{t: t, cc: cc, stream: stream, cancel: cancel, outs: make(chan *gamev1.LinkOutput, 1<<16)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			down, err := stream.Recv()
			if err != nil {
				return
			}
			for _, o := range down.Outputs {
				l.outs <- o
			}
		}
	}()
	t.Cleanup(func() {
		_ = stream.CloseSend()
		cancel()
		<-done
		_ = cc.Close()
	})
	return l
}

func (l *rawLink) send(in ...*gamev1.LinkInput) {
	l.t.Helper()
	must(l.t, l.stream.Send(&gamev1.LinkUp{Inputs: in}))
}

// next returns the next output matching ok (10 s at most).
func (l *rawLink) next(what string, ok func(*gamev1.LinkOutput) bool) *gamev1.LinkOutput {
	l.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case o := <-l.outs:
			if ok(o) {
				return o
			}
		case <-deadline:
			l.t.Fatalf("timed out waiting for %s", what)
			return nil
		}
	}
}

func (l *rawLink) attach(player, session, sceneID, template string) {
	l.send(&gamev1.LinkInput{Op: gamev1.LinkOp_LINK_OP_ATTACH, PlayerId: player, SessionId: session, SceneId: sceneID, Template: template})
}

func (l *rawLink) request(player, session string, seq uint64, route string, body proto.Message) *gamev1.LinkInput {
	b, _ := proto.Marshal(body)
	return &gamev1.LinkInput{Op: gamev1.LinkOp_LINK_OP_REQUEST, PlayerId: player, SessionId: session, Seq: seq, Route: route, Body: b}
}

func kind(k gamev1.LinkOutKind) func(*gamev1.LinkOutput) bool {
	return func(o *gamev1.LinkOutput) bool { return o.Kind == k }
}

func TestLinkRefusesInputsForPlayersNotHere(t *testing.T) {
	w := newWorld(t)
	h := w.addHost(hostConfig("host-1"), time.Second)
	l := dialRaw(t, h, "gate-x")
	p := w.newPlayer() // through the real gate, so the record exists
	p.enter(scenehost.CityName)

	// A request for a player this host does not hold, and one of the right
	// player from a session that is not its own.
	l.send(l.request("pnobody-here", "s1", 1, "scene.move", &gamev1.MoveRequest{X: 1, Y: 1}))
	if o := l.next("answer", kind(gamev1.LinkOutKind_LINK_OUT_RESPONSE)); o.Code != gamemesh.CodeNotFound {
		t.Fatalf("unknown player: %v", o)
	}
	l.send(l.request(string(p.id), "another-session", 2, "scene.move", &gamev1.MoveRequest{X: 201, Y: 201}))
	if o := l.next("answer", kind(gamev1.LinkOutKind_LINK_OUT_RESPONSE)); o.Code != gamemesh.CodeNotFound {
		t.Fatalf("wrong session: %v", o)
	}
	for name, in := range map[string]*gamev1.LinkInput{
		"unknown scene":        {Op: gamev1.LinkOp_LINK_OP_ATTACH, PlayerId: "pa-player", SessionId: "s", SceneId: "moon"},
		"static as a template": {Op: gamev1.LinkOp_LINK_OP_ATTACH, PlayerId: "pa-player", SessionId: "s", SceneId: "city-x", Template: "city"},
		"bad instance id":      {Op: gamev1.LinkOp_LINK_OP_ATTACH, PlayerId: "pa-player", SessionId: "s", SceneId: "other-1", Template: "crypt"},
		"malformed player":     {Op: gamev1.LinkOp_LINK_OP_ATTACH, PlayerId: "Not A Player", SessionId: "s", SceneId: "city"},
	} {
		l.send(in)
		o := l.next(name, kind(gamev1.LinkOutKind_LINK_OUT_DETACHED))
		if o.Code == gamemesh.CodeOK || o.Error == "" {
			t.Errorf("%s: %v, want a clear refusal", name, o)
		}
	}
	if got := h.Scenes(); len(got) != 1 {
		t.Fatalf("refused attaches created scenes: %v", got)
	}
	// The player on the real gate was not disturbed.
	if err := p.move(201, 201); err != nil {
		t.Fatal(err)
	}
}

// A flood of inputs costs bounded memory: beyond the per-player queue the
// host answers RATE_LIMITED at once, every input gets exactly one answer,
// and the player plays on.
func TestFloodIsRateLimitedAndBounded(t *testing.T) {
	w := newWorld(t)
	cfg := hostConfig("host-1")
	cfg.QueuePerPlayer = 16
	h := w.addHost(cfg, time.Second)
	p := w.newPlayer()
	p.enter(scenehost.CityName)
	_ = p.conn.Close() // the raw link takes the player over
	eventually(t, "logout saved", func() bool { return w.record(p.id).Lease.GetHolder() == "" })

	l := dialRaw(t, h, "gate-flood")
	l.attach(string(p.id), "flood-session", scenehost.CityName, "")
	l.next("scene.enter", func(o *gamev1.LinkOutput) bool { return o.Route == scenehost.PushEnter })
	const n = 5000
	batch := make([]*gamev1.LinkInput, n)
	for i := range n {
		batch[i] = l.request(string(p.id), "flood-session", uint64(i+1), "scene.move", &gamev1.MoveRequest{X: 201, Y: 201})
	}
	l.send(batch...)
	answers, limited := map[uint64]int{}, 0
	for len(answers) < n {
		o := l.next("flood answers", kind(gamev1.LinkOutKind_LINK_OUT_RESPONSE))
		answers[o.ReplyTo]++
		if answers[o.ReplyTo] > 1 {
			t.Fatalf("input %d answered twice", o.ReplyTo)
		}
		if o.Code == gamemesh.CodeRateLimited {
			limited++
		} else if o.Code != gamemesh.CodeOK {
			t.Fatalf("flood answer %v", o)
		}
	}
	if limited < n*8/10 {
		t.Fatalf("%d of %d flooded inputs rate limited, want most", limited, n)
	}
	time.Sleep(120 * time.Millisecond) // a new tick: the per-tick cap starts afresh
	l.send(l.request(string(p.id), "flood-session", n+1, "scene.move", &gamev1.MoveRequest{X: 199, Y: 199}))
	if o := l.next("answer after the flood", kind(gamev1.LinkOutKind_LINK_OUT_RESPONSE)); o.Code != gamemesh.CodeOK || o.ReplyTo != n+1 {
		t.Fatalf("after the flood: %v", o)
	}
}

// player.get of a player this host does not hold (it just left) is answered
// by the player app.
func TestPlayerGetOfAPlayerNotHeld(t *testing.T) {
	w := newWorld(t)
	h := w.addHost(hostConfig("host-1"), time.Second)
	p := w.newPlayer()
	p.enter(scenehost.CityName)
	_ = p.conn.Close()
	eventually(t, "logout saved", func() bool { return w.record(p.id).Lease.GetHolder() == "" })
	l := dialRaw(t, h, "gate-x")
	l.send(l.request(string(p.id), "gone-session", 9, "player.get", &gamev1.GetPlayerRequest{}))
	o := l.next("answer", kind(gamev1.LinkOutKind_LINK_OUT_RESPONSE))
	var got gamev1.GetPlayerResponse
	if o.Code != gamemesh.CodeOK || proto.Unmarshal(o.Body, &got) != nil || got.Player.GetPlayerId() != string(p.id) {
		t.Fatalf("player.get of a player not held: %v", o)
	}
}
