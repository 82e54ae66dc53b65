//go:build integration

package integration

import (
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
// allows (no publish); a function's sidecar publishes.
func TestSidecarAPIAllowlist(t *testing.T) {
	r := StartRedis(t)
	gateSide := StartSidecar(t, r, SidecarOptions{AppID: "gate", Config: "gate.yaml"})
	fnSide := StartSidecar(t, r, SidecarOptions{AppID: "mail"})
	ev := gamemesh.Event{ID: gamemesh.NewID(), Data: []byte("x")}
	if err := dapr.NewPublisher(gateSide.Client(t), "pubsub").Publish(t.Context(), "game.events", ev); err == nil {
		t.Fatal("the gate's sidecar published: the allowlist of gate.yaml is not applied")
	}
	if err := dapr.NewPublisher(fnSide.Client(t), "pubsub").Publish(t.Context(), "game.events", ev); err != nil {
		t.Fatalf("a function's sidecar refused to publish: %v", err)
	}
}
