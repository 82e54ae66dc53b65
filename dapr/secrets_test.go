package dapr

import (
	"testing"

	"github.com/gamemesh/gamemesh"
)

func TestSecrets(t *testing.T) {
	s := NewSecrets(startFake(t, &fakeDaprd{}), "secretstore")
	if v, err := s.Get(t.Context(), "TICKET_KEY"); err != nil || v != "s3cret" {
		t.Fatalf("Get = %q, %v", v, err)
	}
	for name, want := range map[string]gamemesh.Code{
		"UNSET": gamemesh.CodeNotFound,
		"OTHER": gamemesh.CodePermissionDenied,
		"":      gamemesh.CodeInvalidArgument,
	} {
		if _, err := s.Get(t.Context(), name); gamemesh.CodeOf(err) != want {
			t.Errorf("Get(%q): %v, want %v", name, err, want)
		}
	}
}
