package system

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecretGeneratedOnceThenReused(t *testing.T) {
	t.Setenv(TicketSecretEnv, "")
	path := filepath.Join(t.TempDir(), "sub", "ticket.secret")
	s1, src1, err := LoadTicketSecret(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(s1) != 32 || !strings.Contains(src1, "generated") {
		t.Fatalf("first load: %d bytes from %q", len(s1), src1)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("secret file mode %v (%v), want 0600", st.Mode(), err)
	}
	s2, src2, err := LoadTicketSecret(path)
	if err != nil || !bytes.Equal(s1, s2) || strings.Contains(src2, "generated") {
		t.Fatalf("second load: %v from %q: a restart must keep the secret", err, src2)
	}
}

func TestSecretFromEnv(t *testing.T) {
	t.Setenv(TicketSecretEnv, strings.Repeat("ab", 32))
	s, src, err := LoadTicketSecret(filepath.Join(t.TempDir(), "unused"))
	if err != nil || len(s) != 32 || !strings.Contains(src, "env") {
		t.Fatalf("hex env secret: %d bytes from %q, %v", len(s), src, err)
	}
	t.Setenv(TicketSecretEnv, "too-short")
	if _, _, err := LoadTicketSecret(filepath.Join(t.TempDir(), "unused")); err == nil {
		t.Fatal("a short secret in the environment was accepted")
	}
}

func TestCorruptSecretFileRefused(t *testing.T) {
	t.Setenv(TicketSecretEnv, "")
	path := filepath.Join(t.TempDir(), "ticket.secret")
	if err := os.WriteFile(path, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadTicketSecret(path); err == nil {
		t.Fatal("a corrupt secret file was accepted (it must not be silently replaced: tickets would break)")
	}
}

func TestParseRoutes(t *testing.T) {
	r, err := ParseRoutes("", "functions")
	if err != nil || r["mail"] != "functions" || r["login"] != "functions" || r["player"] != "functions" {
		t.Fatalf("default routes %v %v", r, err)
	}
	r, err = ParseRoutes("mail=mailsvc, login=auth", "functions")
	if err != nil || r["mail"] != "mailsvc" || r["login"] != "auth" || r["player"] != "functions" {
		t.Fatalf("routes %v %v", r, err)
	}
	for _, bad := range []string{"mail", "mail=", "=x", "mail=Bad Id"} {
		if _, err := ParseRoutes(bad, "functions"); err == nil {
			t.Errorf("ParseRoutes(%q) accepted", bad)
		}
	}
}
