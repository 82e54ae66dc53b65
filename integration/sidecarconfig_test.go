//go:build integration

package integration

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/dapr"
)

// TestSecretStoreScopes: the ticket key is readable, nothing else is (the
// Configuration's secret scopes and the store's variable prefix), and an
// unset key is NOT_FOUND.
func TestSecretStoreScopes(t *testing.T) {
	r := StartRedis(t)
	withKey := StartSidecar(t, r, SidecarOptions{AppID: "login", Env: []string{
		"GAMEMESH_SECRET_TICKET_KEY=k3y", "GAMEMESH_SECRET_OTHER=nope",
	}})
	s := dapr.NewSecrets(withKey.Client(t), "secretstore")
	if v, err := s.Get(t.Context(), "TICKET_KEY"); err != nil || v != "k3y" {
		t.Fatalf("TICKET_KEY = %q, %v", v, err)
	}
	for _, name := range []string{"OTHER", "REDIS_HOST"} {
		if _, err := s.Get(t.Context(), name); gamemesh.CodeOf(err) != gamemesh.CodePermissionDenied {
			t.Errorf("secret %s: %v, want PERMISSION_DENIED", name, err)
		}
	}
	without := StartSidecar(t, r, SidecarOptions{AppID: "gate", Config: "gate.yaml"})
	if _, err := dapr.NewSecrets(without.Client(t), "secretstore").Get(t.Context(), "TICKET_KEY"); gamemesh.CodeOf(err) != gamemesh.CodeNotFound {
		t.Fatalf("unset TICKET_KEY: %v, want NOT_FOUND", err)
	}
}

// TestSidecarAPIAllowlist: a gate's sidecar serves only the APIs gate.yaml
// allows — its gRPC APIs (publish included: kicks to other gates) and, over
// HTTP, metadata only; the state API over HTTP is refused.
func TestSidecarAPIAllowlist(t *testing.T) {
	r := StartRedis(t)
	gateSide := StartSidecar(t, r, SidecarOptions{AppID: "gate", Config: "gate.yaml"})
	ev := gamemesh.Event{ID: gamemesh.NewID(), Data: []byte("x")}
	if err := dapr.NewPublisher(gateSide.Client(t), "pubsub").Publish(t.Context(), "push.gate-2", ev); err != nil {
		t.Fatalf("the gate's sidecar refused to publish a kick: %v", err)
	}
	base := "http://127.0.0.1:" + strconv.Itoa(gateSide.HTTPPort)
	// daprd 1.14 does not route APIs outside the allowlist (404); with the
	// state API served, a missing key would answer 204.
	if code := httpStatus(t, base+"/v1.0/state/statestore/some-key"); code != http.StatusNotFound && code != http.StatusForbidden {
		t.Fatalf("HTTP state API on the gate's sidecar: status %d, want it not served (404/403)", code)
	}
	if code := httpStatus(t, base+"/v1.0/metadata"); code != http.StatusOK {
		t.Fatalf("HTTP metadata API on the gate's sidecar: status %d, want 200", code)
	}
}

func httpStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}
