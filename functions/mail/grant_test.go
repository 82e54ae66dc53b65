package mail_test

import (
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	"github.com/gamemesh/gamemesh/functions/mail"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

func TestGrantQueuesForTheInventoryOwner(t *testing.T) {
	e := newEnv(t, mail.Config{})
	ctx := functionstest.Context(t)
	bob := e.newPlayer(t)
	req := &gamev1.GrantItemsRequest{PlayerId: string(bob), Items: []*gamev1.Item{{Id: "gem", Count: 30}, {Id: "potion", Count: 2}},
		RequestId: "idip-serial-000042", Source: "idip"}
	const n = 10
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { ids[i], errs[i] = e.grantItems(ctx, req) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || ids[i] != ids[0] || !strings.HasPrefix(ids[0], "grant-") {
			t.Fatalf("grant %d = %q, %v; want %q", i, ids[i], errs[i], ids[0])
		}
	}
	g := e.pending(t, bob)
	if len(g) != 1 || g[0].Id != ids[0] || g[0].Source != "idip" || g[0].PlayerId != string(bob) || len(g[0].Items) != 2 || g[0].Items[0].Count != 30 {
		t.Fatalf("pending = %v", g)
	}
	if len(e.ids(t, bob)) != 0 {
		t.Fatal("a grant made a mail")
	}
	// Announced like a claim, under the grant id.
	evs := e.bus.Published()
	if len(evs) == 0 || evs[len(evs)-1].Topic != mail.GrantsTopic || evs[len(evs)-1].ID != ids[0] {
		t.Fatalf("events = %+v", evs)
	}
	// Applied and acknowledged, then retried: still nothing twice.
	if err := e.call(ctx, "", "", "ackGrants", &gamev1.AckGrantsRequest{PlayerId: string(bob), GrantIds: []string{ids[0]}}, &gamev1.AckGrantsResponse{}); err != nil {
		t.Fatal(err)
	}
	if id, err := e.grantItems(ctx, req); err != nil || id != ids[0] {
		t.Fatalf("late retry = %q, %v", id, err)
	}
	if g := e.pending(t, bob); len(g) != 0 {
		t.Fatalf("late retry queued %v", g)
	}
	// Another request id, a default source.
	id2, err := e.grantItems(ctx, &gamev1.GrantItemsRequest{PlayerId: string(bob), Items: gold(1), RequestId: "another-grant-1"})
	if err != nil || id2 == ids[0] {
		t.Fatalf("second grant = %q, %v", id2, err)
	}
	if g := e.pending(t, bob); len(g) != 1 || g[0].Source != mail.DefaultGrantSource {
		t.Fatalf("pending = %v", g)
	}
}

func TestGrantRefusals(t *testing.T) {
	e := newEnv(t, mail.Config{})
	ctx := functionstest.Context(t)
	bob := e.newPlayer(t)
	if _, err := e.grantItems(ctx, &gamev1.GrantItemsRequest{PlayerId: string(bob), Items: gold(1), RequestId: "used-request-1"}); err != nil {
		t.Fatal(err)
	}
	ok := func() *gamev1.GrantItemsRequest {
		return &gamev1.GrantItemsRequest{PlayerId: string(bob), Items: gold(5), RequestId: gamemesh.NewID(), Source: "test"}
	}
	cases := []struct {
		name   string
		mutate func(*gamev1.GrantItemsRequest)
		code   gamemesh.Code
	}{
		{"negative count", func(r *gamev1.GrantItemsRequest) { r.Items = gold(-5) }, gamemesh.CodeInvalidArgument},
		{"min int count", func(r *gamev1.GrantItemsRequest) { r.Items = gold(math.MinInt64) }, gamemesh.CodeInvalidArgument},
		{"zero count", func(r *gamev1.GrantItemsRequest) { r.Items = gold(0) }, gamemesh.CodeInvalidArgument},
		{"unknown item", func(r *gamev1.GrantItemsRequest) { r.Items = []*gamev1.Item{{Id: "excalibur", Count: 1}} }, gamemesh.CodeInvalidArgument},
		{"over stack cap", func(r *gamev1.GrantItemsRequest) { r.Items = []*gamev1.Item{{Id: "leather_cap", Count: 2}} }, gamemesh.CodeInvalidArgument},
		{"duplicate item", func(r *gamev1.GrantItemsRequest) {
			r.Items = []*gamev1.Item{{Id: "gold", Count: 1}, {Id: "gold", Count: 1}}
		}, gamemesh.CodeInvalidArgument},
		{"nothing", func(r *gamev1.GrantItemsRequest) { r.Items = nil }, gamemesh.CodeInvalidArgument},
		{"no request id", func(r *gamev1.GrantItemsRequest) { r.RequestId = "" }, gamemesh.CodeInvalidArgument},
		{"bad source", func(r *gamev1.GrantItemsRequest) { r.Source = "IDIP Tool" }, gamemesh.CodeInvalidArgument},
		{"malformed player", func(r *gamev1.GrantItemsRequest) { r.PlayerId = "Not A Player" }, gamemesh.CodeInvalidArgument},
		{"unknown player", func(r *gamev1.GrantItemsRequest) { r.PlayerId = "pnosuchplayer0000000" }, gamemesh.CodeNotFound},
		{"request id reused", func(r *gamev1.GrantItemsRequest) { r.RequestId = "used-request-1" }, gamemesh.CodeInvalidArgument},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.snapshot()
			events := len(e.bus.Published())
			req := ok()
			c.mutate(req)
			_, err := e.grantItems(ctx, req)
			functionstest.WantCode(t, err, c.code)
			e.unchanged(t, before)
			if len(e.bus.Published()) != events {
				t.Fatal("a refused grant published an event")
			}
		})
	}
	err := e.call(ctx, bob, "", "grant", ok(), &gamev1.GrantItemsResponse{})
	functionstest.WantCode(t, err, gamemesh.CodeUnknownRoute)
}

// Unknown items are refused on every way items enter mail, and a refusal
// changes nothing.
func TestUnknownItemsRefusedEverywhere(t *testing.T) {
	e := newEnv(t, mail.Config{})
	ctx := functionstest.Context(t)
	bob := e.newPlayer(t)
	for _, items := range [][]*gamev1.Item{
		{{Id: "excalibur", Count: 1}},
		{{Id: "gold", Count: 1}, {Id: "no_such_item", Count: 1}},
		{{Id: "gold", Count: -1}},
	} {
		before := e.snapshot()
		_, err := e.send(ctx, "", &gamev1.SendMailRequest{To: string(bob), Subject: "x", Attachments: items, RequestId: gamemesh.NewID()})
		functionstest.WantCode(t, err, gamemesh.CodeInvalidArgument)
		_, err = e.broadcast(ctx, &gamev1.BroadcastMailRequest{Subject: "x", Attachments: items, RequestId: gamemesh.NewID()})
		functionstest.WantCode(t, err, gamemesh.CodeInvalidArgument)
		_, err = e.grantItems(ctx, &gamev1.GrantItemsRequest{PlayerId: string(bob), Items: items, RequestId: gamemesh.NewID()})
		functionstest.WantCode(t, err, gamemesh.CodeInvalidArgument)
		e.unchanged(t, before)
	}
}
