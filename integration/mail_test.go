//go:build integration

package integration

import (
	"context"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/client"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// TestGateToMailThroughTwoSidecars: a client logs in through the gate (login
// reached through the gate's and the functions' sidecars), lists and claims
// mail; business errors reach the client with their codes; a replayed ticket
// is refused through the shared marker store.
func TestGateToMailThroughTwoSidecars(t *testing.T) {
	sys := startSystem(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	tk, err := client.GuestLogin(ctx, "http://"+sys.gate.HTTPAddr(), "device-"+gamemesh.NewID())
	if err != nil {
		t.Fatalf("guest login through the gate: %v", err)
	}
	conn, err := client.Dial(ctx, "tcp://"+sys.gate.Addr(), tk.Ticket, client.Options{})
	if err != nil {
		t.Fatalf("dial the gate: %v", err)
	}
	defer conn.Close()

	mailID := sys.sendMail(t, tk.PlayerID, &gamev1.Item{Id: "gold", Count: 100})
	var list gamev1.ListMailResponse
	if err := conn.Call(ctx, "mail.list", &gamev1.ListMailRequest{}, &list); err != nil {
		t.Fatalf("mail.list: %v", err)
	}
	if len(list.GetMails()) != 1 || list.GetMails()[0].GetId() != mailID {
		t.Fatalf("mail.list = %v, want the mail %s", list.GetMails(), mailID)
	}
	var claim gamev1.ClaimMailResponse
	if err := conn.Call(ctx, "mail.claim", &gamev1.ClaimMailRequest{MailId: mailID}, &claim); err != nil {
		t.Fatalf("mail.claim: %v", err)
	}
	if len(claim.GetItems()) != 1 || claim.GetItems()[0].GetCount() != 100 {
		t.Fatalf("claimed %v, want 100 gold", claim.GetItems())
	}
	err = conn.Call(ctx, "mail.claim", &gamev1.ClaimMailRequest{MailId: mailID}, &claim)
	if code := gamemesh.CodeOf(err); code != gamemesh.CodeAlreadyDone {
		t.Fatalf("second claim: CodeOf = %v (%v), want ALREADY_DONE", code, err)
	}
	err = conn.Call(ctx, "mail.ackGrants", &gamev1.AckGrantsRequest{}, &gamev1.AckGrantsResponse{})
	if code := gamemesh.CodeOf(err); code != gamemesh.CodeUnknownRoute {
		t.Fatalf("private method from a client: CodeOf = %v (%v), want UNKNOWN_ROUTE", code, err)
	}

	_, err = client.Dial(ctx, "tcp://"+sys.gate.Addr(), tk.Ticket, client.Options{})
	if code := gamemesh.CodeOf(err); code != gamemesh.CodeTicketReplayed {
		t.Fatalf("replayed ticket: CodeOf = %v (%v), want TICKET_REPLAYED", code, err)
	}
}

// TestClaimRaceThroughDapr: one mail claimed by 100 concurrent requests
// through the gate's sidecar, the functions' sidecar and the state store
// grants exactly once.
func TestClaimRaceThroughDapr(t *testing.T) {
	sys := startSystem(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tk, err := client.GuestLogin(ctx, "http://"+sys.gate.HTTPAddr(), "device-"+gamemesh.NewID())
	if err != nil {
		t.Fatal(err)
	}
	mailID := sys.sendMail(t, tk.PlayerID, &gamev1.Item{Id: "gem", Count: 1})
	body, err := proto.Marshal(&gamev1.ClaimMailRequest{MailId: mailID})
	if err != nil {
		t.Fatal(err)
	}

	const racers = 100
	codes := make([]gamemesh.Code, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
			defer ccancel()
			_, err := sys.gateInvoker.Invoke(cctx, gamemesh.Request{App: "mail", Method: "claim", Player: tk.PlayerID, ID: gamemesh.NewID(), Body: body})
			codes[i] = gamemesh.CodeOf(err)
		})
	}
	wg.Wait()
	count := map[gamemesh.Code]int{}
	for _, c := range codes {
		count[c]++
	}
	t.Logf("outcomes of %d racing claims: %v", racers, count)
	for c, n := range count {
		switch c {
		case gamemesh.CodeOK, gamemesh.CodeAlreadyDone, gamemesh.CodeUnavailable, gamemesh.CodeDeadlineExceeded:
		default:
			t.Errorf("%d claims answered %v", n, c)
		}
	}
	if count[gamemesh.CodeOK] > 1 {
		t.Fatalf("%d claims succeeded, want at most 1", count[gamemesh.CodeOK])
	}
	if count[gamemesh.CodeOK] == 0 && count[gamemesh.CodeUnavailable]+count[gamemesh.CodeDeadlineExceeded] == 0 {
		t.Fatal("no claim succeeded and none failed in transport")
	}

	var pending gamev1.PendingGrantsResponse
	pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
	defer pcancel()
	if err := functions.Call(pctx, sys.gateInvoker, "mail", "pendingGrants", &gamev1.PendingGrantsRequest{PlayerId: string(tk.PlayerID)}, &pending); err != nil {
		t.Fatalf("mail.pendingGrants: %v", err)
	}
	if n := len(pending.GetGrants()); n != 1 {
		t.Fatalf("%d pending grants after the race, want exactly 1: %v", n, pending.GetGrants())
	}
}
