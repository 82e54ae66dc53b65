package ticket

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gamemesh/gamemesh"
)

var (
	secret = []byte("0123456789abcdef0123456789abcdef")
	other  = []byte("fedcba9876543210fedcba9876543210")
	now    = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
)

func mustSigner(t *testing.T, key []byte) *Signer {
	t.Helper()
	s, err := NewSigner(key, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustVerifier(t *testing.T, key []byte) *Verifier {
	t.Helper()
	v, err := NewVerifier(key)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSignVerify(t *testing.T) {
	tok, c, err := mustSigner(t, secret).Sign("pabc", now)
	if err != nil {
		t.Fatal(err)
	}
	got, err := mustVerifier(t, secret).Verify(tok, now.Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if got.Player != "pabc" || got.ID != c.ID || got.ID == "" || !got.ExpiresAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("claims %+v, signed %+v", got, c)
	}
	tok2, c2, _ := mustSigner(t, secret).Sign("pabc", now)
	if tok2 == tok || c2.ID == c.ID {
		t.Fatal("two tickets share an id")
	}
}

func TestShortSecretRefused(t *testing.T) {
	if _, err := NewSigner([]byte("short"), 0); err == nil {
		t.Fatal("NewSigner accepted a 5-byte secret")
	}
	if _, err := NewVerifier([]byte("short")); err == nil {
		t.Fatal("NewVerifier accepted a 5-byte secret")
	}
}

func TestRefused(t *testing.T) {
	good, _, _ := mustSigner(t, secret).Sign("pabc", now)
	forged, _, _ := mustSigner(t, other).Sign("pabc", now)
	none := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.RegisteredClaims{Subject: "pabc", ID: "x",
		Audience: jwt.ClaimStrings{audience}, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute))})
	noneTok, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	noExp := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{Subject: "pabc", ID: "x",
		Audience: jwt.ClaimStrings{audience}, IssuedAt: jwt.NewNumericDate(now)})
	noExpTok, _ := noExp.SignedString(secret)
	otherAud := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{Subject: "pabc", ID: "x",
		Audience: jwt.ClaimStrings{"someone-else"}, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute))})
	otherAudTok, _ := otherAud.SignedString(secret)
	badSubject := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{Subject: "../etc", ID: "x",
		Audience: jwt.ClaimStrings{audience}, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute))})
	badSubjectTok, _ := badSubject.SignedString(secret)

	cases := []struct {
		name  string
		token string
		at    time.Time
		want  gamemesh.Code
	}{
		{"expired", good, now.Add(2 * time.Minute), gamemesh.CodeTicketExpired},
		{"issued in the future", good, now.Add(-time.Hour), gamemesh.CodeBadTicket},
		{"forged", forged, now, gamemesh.CodeBadTicket},
		{"alg none", noneTok, now, gamemesh.CodeBadTicket},
		{"no expiry", noExpTok, now, gamemesh.CodeBadTicket},
		{"other audience", otherAudTok, now, gamemesh.CodeBadTicket},
		{"bad subject", badSubjectTok, now, gamemesh.CodeBadTicket},
		{"garbage", "not.a.jwt", now, gamemesh.CodeBadTicket},
		{"empty", "", now, gamemesh.CodeBadTicket},
		{"too long", strings.Repeat("a", MaxTokenLen+1), now, gamemesh.CodeBadTicket},
		{"tampered", good[:len(good)-2] + "xx", now, gamemesh.CodeBadTicket},
	}
	v := mustVerifier(t, secret)
	for _, c := range cases {
		_, err := v.Verify(c.token, c.at)
		if got := gamemesh.CodeOf(err); got != c.want {
			t.Errorf("%s: code %v (%v), want %v", c.name, got, err, c.want)
		}
	}
}
