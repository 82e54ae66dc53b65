package ticket

import (
	"strings"
	"testing"

	"github.com/gamemesh/gamemesh"
)

// FuzzVerify feeds arbitrary tokens to the verifier: it never panics, refuses
// with BAD_TICKET or TICKET_EXPIRED only, and accepts nothing it did not
// sign (a mutated token verifies only if it still carries our signature over
// the same claims).
func FuzzVerify(f *testing.F) {
	s, _ := NewSigner(secret, 0)
	good, _, _ := s.Sign("p1", now)
	forged, _, _ := (&Signer{key: other, ttl: DefaultTTL}).Sign("p1", now)
	for _, seed := range []string{good, forged, "", "a.b.c", good[:len(good)-3], strings.Repeat("A", MaxTokenLen+1),
		"eyJhbGciOiJub25lIn0.eyJzdWIiOiJwMSJ9.", good + "x"} {
		f.Add(seed)
	}
	v, _ := NewVerifier(secret)
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := v.Verify(tok, now)
		if err != nil {
			if code := gamemesh.CodeOf(err); code != gamemesh.CodeBadTicket && code != gamemesh.CodeTicketExpired {
				t.Fatalf("refused with %v: %v", code, err)
			}
			return
		}
		if !c.Player.Valid() || c.ID == "" || c.ExpiresAt.IsZero() {
			t.Fatalf("accepted claims %+v", c)
		}
		if len(tok) > MaxTokenLen {
			t.Fatalf("accepted a token of %d bytes", len(tok))
		}
		// Whatever verifies must verify again identically (no hidden state).
		if c2, err := v.Verify(tok, now); err != nil || c2 != c {
			t.Fatalf("second verify: %+v %v", c2, err)
		}
	})
}
