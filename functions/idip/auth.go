package idip

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
)

// MinTokenLen is the shortest admin token accepted, in characters.
const MinTokenLen = 32

// MaxTokenLen caps the admin token, and what a request may present, before
// anything is compared.
const MaxTokenLen = 512

// OperatorHeader names the operator making a request, for the audit log
// (e.g. "alice"); without it the token's identity is recorded.
const OperatorHeader = "X-Idip-Operator"

const operatorRule = "want 1 to 64 printable ASCII characters without spaces"

// CheckToken returns an error unless tok may be an admin token: MinTokenLen
// to MaxTokenLen printable ASCII characters without spaces, and not one
// character repeated.
func CheckToken(tok string) error {
	if len(tok) < MinTokenLen || len(tok) > MaxTokenLen {
		return fmt.Errorf("idip: the admin token must be %d to %d characters, got %d", MinTokenLen, MaxTokenLen, len(tok))
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] <= ' ' || tok[i] > '~' {
			return fmt.Errorf("idip: the admin token must be printable ASCII without spaces")
		}
	}
	if strings.Count(tok, tok[:1]) == len(tok) {
		return fmt.Errorf("idip: the admin token is one character repeated")
	}
	return nil
}

// tokenCheck compares presented tokens with the admin token in constant
// time: both are hashed first, so neither the content nor the length of the
// admin token leaks through timing.
type tokenCheck struct{ sum [sha256.Size]byte }

func newTokenCheck(tok string) (tokenCheck, error) {
	if err := CheckToken(tok); err != nil {
		return tokenCheck{}, err
	}
	return tokenCheck{sum: sha256.Sum256([]byte(tok))}, nil
}

// allows reports whether r carries "Authorization: Bearer <the token>".
func (t tokenCheck) allows(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || len(tok) > MaxTokenLen {
		return false
	}
	got := sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(got[:], t.sum[:]) == 1
}

// validOperator reports whether s may name an operator.
func validOperator(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// clip returns s cut to n bytes with control characters replaced, for
// recording untrusted input (a claimed operator name) in the audit log.
func clip(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
}
