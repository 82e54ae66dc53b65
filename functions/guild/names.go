package guild

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"

	"github.com/gamemesh/gamemesh"
)

// foldName validates a guild name and returns its folded form (the unit of
// uniqueness) and the hash of that form (the key part of guild/name/).
//
// Rules: valid UTF-8, MinNameLen to MaxNameLen characters, no control,
// format (bidi overrides, zero-width joiners...), private-use, surrogate or
// line/paragraph separator characters, no leading or trailing space (after
// NFKC, so an ideographic space counts). Folding is NFKC, then Unicode case
// folding, then NFKC again: "ＤＲＡＧＯＮＳ", "Dragons" and "DRAGONS" fold alike.
func foldName(name string) (folded, hashed string, err error) {
	if !utf8.ValidString(name) {
		return "", "", invalid("name must be valid UTF-8")
	}
	if n := utf8.RuneCountInString(name); n < MinNameLen || n > MaxNameLen {
		return "", "", invalid("name must be %d to %d characters", MinNameLen, MaxNameLen)
	}
	nf := norm.NFKC.String(name)
	for _, s := range []string{name, nf} {
		for _, r := range s {
			if forbiddenInName(r) {
				return "", "", invalid("name must not contain control characters")
			}
		}
		if strings.TrimFunc(s, unicode.IsSpace) != s {
			return "", "", invalid("name must not start or end with a space")
		}
	}
	folded = norm.NFKC.String(cases.Fold().String(nf))
	sum := sha256.Sum256([]byte(folded))
	return folded, hex.EncodeToString(sum[:16]), nil
}

// forbiddenInName reports whether r may not appear in a name.
func forbiddenInName(r rune) bool {
	return r == utf8.RuneError || unicode.IsControl(r) ||
		unicode.In(r, unicode.Cf, unicode.Co, unicode.Cs, unicode.Zl, unicode.Zp)
}

// validText reports whether s is valid UTF-8 of at most max bytes without
// control characters other than newline.
func validText(s string, max int) bool {
	if len(s) > max || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r != '\n' && (unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Co, unicode.Cs)) {
			return false
		}
	}
	return true
}

func checkNotice(s string) error {
	if !validText(s, MaxNoticeLen) {
		return invalid("notice must be at most %d bytes of UTF-8 without control characters other than newline", MaxNoticeLen)
	}
	return nil
}

func invalid(format string, args ...any) error {
	return gamemesh.Errorf(gamemesh.CodeInvalidArgument, format, args...)
}
