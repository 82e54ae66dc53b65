package bots_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/bots"
	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/functions"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	"github.com/gamemesh/gamemesh/functions/idip"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

const operatorToken = "bots-operator-test-token-0123456789abcdef"

// noConfig is an empty idip.ConfigStore (the operator flips no switch).
type noConfig struct{}

func (noConfig) Get(context.Context, []string) (map[string]gamemesh.ConfigItem, error) {
	return map[string]gamemesh.ConfigItem{}, nil
}
func (noConfig) Prefixed(context.Context, string) (map[string]gamemesh.ConfigItem, error) {
	return map[string]gamemesh.ConfigItem{}, nil
}
func (noConfig) Set(context.Context, string, string) (string, error) { return "1", nil }

// idipBackend is the real IDIP API over doubles of login and mail (the
// contract of mail.proto), recording what the operator asked.
type idipBackend struct {
	app        *idip.App
	mu         sync.Mutex
	grants     map[string]*gamev1.GrantItemsRequest
	broadcasts int
}

func startIDIP(t *testing.T, failGrants bool) *idipBackend {
	t.Helper()
	b := &idipBackend{grants: map[string]*gamev1.GrantItemsRequest{}}
	reg := functions.NewRegistry()
	reg.Handle("login", "status", functions.Method{Handler: functions.Typed(func() *gamev1.AccountStatusRequest { return new(gamev1.AccountStatusRequest) },
		func(_ context.Context, _ gamemesh.Request, in *gamev1.AccountStatusRequest) (*gamev1.AccountStatusResponse, error) {
			return &gamev1.AccountStatusResponse{PlayerId: in.GetPlayerId(), CreatedAtMs: 1}, nil
		})})
	reg.Handle("mail", "grant", functions.Method{Handler: functions.Typed(func() *gamev1.GrantItemsRequest { return new(gamev1.GrantItemsRequest) },
		func(_ context.Context, _ gamemesh.Request, in *gamev1.GrantItemsRequest) (*gamev1.GrantItemsResponse, error) {
			if failGrants {
				return nil, gamemesh.Errorf(gamemesh.CodeUnavailable, "mail down")
			}
			b.mu.Lock()
			defer b.mu.Unlock()
			b.grants[in.GetRequestId()] = in
			return &gamev1.GrantItemsResponse{GrantId: "g"}, nil
		})})
	reg.Handle("mail", "broadcast", functions.Method{Handler: functions.Typed(func() *gamev1.BroadcastMailRequest { return new(gamev1.BroadcastMailRequest) },
		func(context.Context, gamemesh.Request, *gamev1.BroadcastMailRequest) (*gamev1.BroadcastMailResponse, error) {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.broadcasts++
			return &gamev1.BroadcastMailResponse{BroadcastId: "b"}, nil
		})})
	roster := directory.NewMemoryRoster(time.Hour)
	_ = roster.Announce(context.Background(), directory.Member{ID: "gate-1", Kind: directory.KindGate, Info: map[string]string{"online": "3"}})
	bus := &functionstest.Bus{}
	app, err := idip.New(idip.Config{Addr: "127.0.0.1:0", Token: operatorToken}, idip.Deps{Store: functionstest.NewMemStore(time.Now),
		Invoker: functionstest.Invoker{Registry: reg}, Locator: directory.NewMemory(), Publisher: bus, Roster: roster, Config: noConfig{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = app.Stop(ctx)
	})
	b.app = app
	return b
}

func TestOperatorCallsIDIPDuringTheRun(t *testing.T) {
	t.Parallel()
	g := startGame(t, &fakeGame{})
	b := startIDIP(t, false)
	rep := runBots(t, g, bots.Config{Players: 3, Duration: 1500 * time.Millisecond, Addr: g.srv.TCPAddr(), MailEvery: 200 * time.Millisecond,
		IDIP: b.app.URL(), IDIPToken: operatorToken, OperatorEvery: 60 * time.Millisecond, Seed: 3})
	if rep.Errors != 0 {
		t.Fatalf("report %s: want no errors", rep.JSON())
	}
	for _, route := range []string{bots.RouteIDIPOnline, bots.RouteIDIPNotice, bots.RouteIDIPGrant, bots.RouteIDIPMailAll} {
		if s := rep.Calls[route]; s.OK == 0 || s.Err != 0 {
			t.Fatalf("%s: %+v in %s", route, s, rep.JSON())
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.grants) != int(rep.Calls[bots.RouteIDIPGrant].OK) || b.broadcasts != int(rep.Calls[bots.RouteIDIPMailAll].OK) {
		t.Fatalf("IDIP saw %d grants and %d broadcasts for %s (each serial once)", len(b.grants), b.broadcasts, rep.JSON())
	}
	for _, gr := range b.grants {
		if gr.GetPlayerId() == "" || gr.GetItems()[0].GetId() != "gold" {
			t.Fatalf("grant %v: want gold for a bot", gr)
		}
	}
}

func TestOperatorFailuresAreCounted(t *testing.T) {
	t.Parallel()
	g := startGame(t, &fakeGame{})
	b := startIDIP(t, true)
	rep := runBots(t, g, bots.Config{Players: 2, Duration: 1200 * time.Millisecond, Addr: g.srv.TCPAddr(), MailEvery: 200 * time.Millisecond,
		IDIP: b.app.URL(), IDIPToken: operatorToken, OperatorEvery: 50 * time.Millisecond})
	if s := rep.Calls[bots.RouteIDIPGrant]; s.Err == 0 || s.OK != 0 || rep.Errors < s.Err || rep.ErrorCodes["UNAVAILABLE"] < s.Err {
		t.Fatalf("report %s: want every grant counted as an UNAVAILABLE error", rep.JSON())
	}
	// A wrong token: every command fails, counted.
	rep = runBots(t, g, bots.Config{Players: 1, Duration: 500 * time.Millisecond, Addr: g.srv.TCPAddr(),
		IDIP: b.app.URL(), IDIPToken: "wrong-token-wrong-token-wrong-token-0", OperatorEvery: 50 * time.Millisecond})
	if s := rep.Calls[bots.RouteIDIPOnline]; s.Err == 0 || s.OK != 0 || rep.ErrorCodes["NOT_LOGGED_IN"] == 0 {
		t.Fatalf("report %s: want the refused calls counted", rep.JSON())
	}
	if _, err := bots.Run(context.Background(), bots.Config{Players: 1, Duration: time.Second, Addr: "tcp://x", HTTP: "http://x", IDIP: "http://x"}, nil); gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
		t.Fatalf("an operator without a token: %v", err)
	}
}
