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
	if err := checkContent(in.GetSubject(), in.GetBody(), in.GetTemplate(), in.GetParams()); err != nil {
		return nil, err
	}
	atts := in.GetAttachments()
	if len(atts) > 0 && fromPlayer {
		return nil, gamemesh.Errorf(gamemesh.CodePermissionDenied, "players cannot attach items")
	}
	if in.GetTemplate() != "" && fromPlayer {
		return nil, gamemesh.Errorf(gamemesh.CodePermissionDenied, "players cannot send template mail")
	}
	items, err := a.checkItems(atts)
	if err != nil {
		return nil, err
	}
	if in.GetSubject() == "" && in.GetBody() == "" && in.GetTemplate() == "" && len(items) == 0 {
		return nil, invalid("empty mail")
	}
	return items, nil
}

// checkContent validates a mail's text: subject and body, or a template and
// its parameters (then subject and body must be empty).
func checkContent(subject, body, template string, params map[string]string) error {
	if !validText(subject, MaxSubjectLen, false) {
		return invalid("subject must be at most %d bytes of UTF-8 without control characters", MaxSubjectLen)
	}
	if !validText(body, MaxBodyLen, true) {
		return invalid("body must be at most %d bytes of UTF-8 without control characters other than newline", MaxBodyLen)
	}
	if template == "" {
		if len(params) > 0 {
			return invalid("params need a template")
		}
		return nil
	}
	if subject != "" || body != "" {
		return invalid("a template mail has no subject or body of its own")
	}
	return checkTemplate(template, params)
}

// checkItems validates attachments (or granted items) against the item
// catalogue: known ids, counts from 1 to the item's stack cap and to
// Config.MaxCount, each item once, at most Config.MaxAttachments.
func (a *App) checkItems(atts []*gamev1.Item) ([]itemRec, error) {
	if len(atts) > a.cfg.MaxAttachments {
		return nil, invalid("at most %d attachments", a.cfg.MaxAttachments)
	}
	items := make([]itemRec, 0, len(atts))
	seen := make(map[string]bool, len(atts))
	for i, it := range atts {
		if err := a.items.CheckItem(it.GetId(), it.GetCount()); err != nil {
			return nil, invalid("attachment %d: %s", i, gamemesh.MessageOf(err))
		}
		if it.GetCount() > a.cfg.MaxCount {
			return nil, invalid("attachment %d: count must be 1 to %d", i, a.cfg.MaxCount)
		}
		if seen[it.GetId()] {
			return nil, invalid("attachment %d: item %s attached twice", i, it.GetId())
		}
		seen[it.GetId()] = true
		items = append(items, itemRec{ID: it.GetId(), Count: it.GetCount()})
	}
	return items, nil
}
