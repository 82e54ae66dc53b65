package idip

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gamemesh/gamemesh"
)

// Input limits.
const (
	// MaxReasonLen caps a ban, mute or kick reason, in bytes.
	MaxReasonLen = 256
	// MaxSubjectLen and MaxMailBodyLen cap a mail's texts, in bytes (the
	// mail function's own limits).
	MaxSubjectLen  = 64
	MaxMailBodyLen = 1024
	// MaxAttachments caps the items of one mail; MaxGrantItems those of one grant.
	MaxAttachments = 10
	MaxGrantItems  = 50
	// MaxDuration caps a ban or mute given as a duration (0 is forever).
	MaxDuration = 100 * 365 * 24 * time.Hour
)

// Item is a stack of items in a mail or a grant.
type Item struct {
	ID    string `json:"id"`
	Count int64  `json:"count"`
}

func invalid(format string, args ...any) error {
	return gamemesh.Errorf(gamemesh.CodeInvalidArgument, format, args...)
}

func checkPlayerID(id string) error {
	if !gamemesh.PlayerID(id).Valid() {
		return invalid("player_id %.70q: want 2 to 64 characters of [a-z0-9_-]", id)
	}
	return nil
}

// checkText refuses text longer than max bytes, not UTF-8, or with control
// characters (newline allowed when multiline); required refuses blank text.
func checkText(field, s string, max int, required, multiline bool) error {
	switch {
	case required && strings.TrimSpace(s) == "":
		return invalid("%s is required", field)
	case len(s) > max:
		return invalid("%s is %d bytes, at most %d", field, len(s), max)
	case !utf8.ValidString(s):
		return invalid("%s is not UTF-8", field)
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && r == '\n') {
			return invalid("%s has a control character (%U)", field, r)
		}
	}
	return nil
}

// checkItems refuses an empty list (when required), more than max items,
// an item twice, and items the catalogue refuses (unknown ids, counts out of
// [1, the item's stack cap]).
func (a *App) checkItems(field string, items []Item, max int, required bool) error {
	if required && len(items) == 0 {
		return invalid("%s: at least one item is required", field)
	}
	if len(items) > max {
		return invalid("%s: at most %d items, got %d", field, max, len(items))
	}
	seen := make(map[string]bool, len(items))
	for i, it := range items {
		if err := a.items.CheckItem(it.ID, it.Count); err != nil {
			return invalid("%s[%d]: %s", field, i, gamemesh.MessageOf(err))
		}
		if seen[it.ID] {
			return invalid("%s[%d]: item %s listed twice", field, i, it.ID)
		}
		seen[it.ID] = true
	}
	return nil
}

// checkDuration refuses a negative or too long duration in seconds.
func checkDuration(field string, seconds int64) error {
	if seconds < 0 || seconds > int64(MaxDuration/time.Second) {
		return invalid("%s must be 0 (forever) to %d seconds, got %d", field, int64(MaxDuration/time.Second), seconds)
	}
	return nil
}

// untilMs turns a duration in seconds from at into an end time (0: forever).
func untilMs(at time.Time, seconds int64) int64 {
	if seconds == 0 {
		return 0
	}
	return at.Add(time.Duration(seconds) * time.Second).UnixMilli()
}

func untilText(ms int64) string {
	if ms == 0 {
		return "forever"
	}
	return "until " + time.UnixMilli(ms).UTC().Format(time.RFC3339)
}

// cut shortens s for the audit log.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + fmt.Sprintf("…(%d bytes)", len(s))
}
