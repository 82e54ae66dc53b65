package mail

import (
	"unicode"
	"unicode/utf8"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// Request id limits (send's request_id).
const (
	minRequestIDLen = 8
	maxRequestIDLen = 64
)

// validText reports whether s is valid UTF-8 of at most max bytes without
// control characters (newline allowed when allowNewline).
func validText(s string, max int, allowNewline bool) bool {
	if len(s) > max || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(allowNewline && r == '\n') {
			return false
		}
	}
	return true
}

// validRequestID reports whether id is 8 to 64 printable ASCII characters without spaces.
func validRequestID(id string) bool {
	if len(id) < minRequestIDLen || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= 0x20 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

func invalid(format string, args ...any) error {
	return gamemesh.Errorf(gamemesh.CodeInvalidArgument, format, args...)
}

// checkSend validates everything in a send that needs no I/O and returns
// the attachments as records.
func (a *App) checkSend(in *gamev1.SendMailRequest, fromPlayer bool) ([]itemRec, error) {
	if !validRequestID(in.GetRequestId()) {
		return nil, invalid("request_id must be %d to %d printable characters", minRequestIDLen, maxRequestIDLen)
	}
	if !validText(in.GetSubject(), MaxSubjectLen, false) {
		return nil, invalid("subject must be at most %d bytes of UTF-8 without control characters", MaxSubjectLen)
	}
	if !validText(in.GetBody(), MaxBodyLen, true) {
		return nil, invalid("body must be at most %d bytes of UTF-8 without control characters other than newline", MaxBodyLen)
	}
	atts := in.GetAttachments()
	if len(atts) > 0 && fromPlayer {
		return nil, gamemesh.Errorf(gamemesh.CodePermissionDenied, "players cannot attach items")
	}
	if len(atts) > a.cfg.MaxAttachments {
		return nil, invalid("at most %d attachments", a.cfg.MaxAttachments)
	}
	items := make([]itemRec, 0, len(atts))
	seen := make(map[string]bool, len(atts))
	for i, it := range atts {
		if !gamemesh.ValidItemID(it.GetId()) {
			return nil, invalid("attachment %d: item id must be 1 to 64 characters of [a-z0-9_.-]", i)
		}
		if it.GetCount() < 1 || it.GetCount() > a.cfg.MaxCount {
			return nil, invalid("attachment %d: count must be 1 to %d", i, a.cfg.MaxCount)
		}
		if seen[it.GetId()] {
			return nil, invalid("attachment %d: item %s attached twice", i, it.GetId())
		}
		seen[it.GetId()] = true
		items = append(items, itemRec{ID: it.GetId(), Count: it.GetCount()})
	}
	if in.GetSubject() == "" && in.GetBody() == "" && len(items) == 0 {
		return nil, invalid("empty mail")
	}
	return items, nil
}
