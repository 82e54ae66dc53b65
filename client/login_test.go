package client_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/client"
	"github.com/gamemesh/gamemesh/client/clienttest"
)

func TestGuestLogin(t *testing.T) {
	s := start(t, clienttest.Config{})
	ctx := ctxT(t)
	first, err := client.GuestLogin(ctx, s.HTTPBase(), "device-0001")
	if err != nil {
		t.Fatal(err)
	}
	if !first.Created || first.PlayerID == "" || first.Ticket == "" || !first.ExpiresAt.After(time.Now()) {
		t.Fatalf("first login = %+v", first)
	}
	again, err := client.GuestLogin(ctx, s.HTTPBase()+"/", "device-0001")
	if err != nil {
		t.Fatal(err)
	}
	if again.Created || again.PlayerID != first.PlayerID || again.Ticket == first.Ticket {
		t.Fatalf("second login = %+v, want the same player, not created, a new ticket", again)
	}
	c, err := client.Dial(ctx, s.WSAddr(), again.Ticket, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.PlayerID() != first.PlayerID {
		t.Fatalf("logged in as %q, want %q", c.PlayerID(), first.PlayerID)
	}
}

func TestGuestLoginErrors(t *testing.T) {
	s := start(t, clienttest.Config{})
	s.Ban("device-banned")
	ctx := ctxT(t)

	_, err := client.GuestLogin(ctx, s.HTTPBase(), "device-banned")
	wantCode(t, err, gamemesh.CodeBanned)
	if gamemesh.MessageOf(err) != "account banned" {
		t.Fatalf("message = %q, want the server's", gamemesh.MessageOf(err))
	}
	_, err = client.GuestLogin(ctx, s.HTTPBase(), "")
	wantCode(t, err, gamemesh.CodeInvalidArgument)
	_, err = client.GuestLogin(ctx, "ftp://x", "device-0001")
	wantCode(t, err, gamemesh.CodeInvalidArgument)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	_, err = client.GuestLogin(ctx, "http://"+dead, "device-0001")
	wantCode(t, err, gamemesh.CodeUnavailable)

	// Not JSON: the code comes from the status.
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("Content-Type") {
		case "application/json":
			http.Error(w, "upstream down", http.StatusBadGateway)
		}
	}))
	defer hs.Close()
	_, err = client.GuestLogin(ctx, hs.URL, "device-0001")
	wantCode(t, err, gamemesh.CodeUnavailable)

	// 200 but no ticket.
	hs2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"player_id":"p1"}`))
	}))
	defer hs2.Close()
	_, err = client.GuestLogin(ctx, hs2.URL, "device-0001")
	wantCode(t, err, gamemesh.CodeProtocol)
}

func TestCodeFromName(t *testing.T) {
	for _, name := range []string{"BANNED", "ERROR_CODE_BANNED"} {
		if c, ok := client.CodeFromName(name); !ok || c != gamemesh.CodeBanned {
			t.Fatalf("CodeFromName(%q) = %v, %v", name, c, ok)
		}
	}
	if _, ok := client.CodeFromName("NOPE"); ok {
		t.Fatal("unknown name accepted")
	}
}
