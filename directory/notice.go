package directory

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// NoticeRoute is the control route that asks a gate to show a notice to
// every player connected to it; its body is a gamev1.ServerNotice.
const NoticeRoute = ControlRoutePrefix + "notice"

// NoticePushRoute is the push route under which a gate delivers a notice to
// each of its sessions (same gamev1.ServerNotice body).
const NoticePushRoute = "system.notice"

// MaxNoticeLen caps a notice's text, in bytes.
const MaxNoticeLen = 1024

// CheckNoticeText returns an INVALID_ARGUMENT error unless text is 1 to
// MaxNoticeLen bytes of UTF-8, not blank, without control characters
// (newlines and tabs included: a notice is one line on a player's screen).
func CheckNoticeText(text string) error {
	switch {
	case strings.TrimSpace(text) == "":
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "notice text is empty")
	case len(text) > MaxNoticeLen:
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "notice text is %d bytes, at most %d", len(text), MaxNoticeLen)
	case !utf8.ValidString(text):
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "notice text is not UTF-8")
	}
	for _, r := range text {
		if unicode.IsControl(r) {
			return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "notice text has a control character (%U)", r)
		}
	}
	return nil
}

// PublishNotice asks gate to push n to every session it holds. eventID names
// the event (stable across retries of one notice, so the pub/sub layer may
// dedupe). n needs an id and a text that CheckNoticeText accepts.
func PublishNotice(ctx context.Context, pub gamemesh.Publisher, gate, eventID string, n *gamev1.ServerNotice) error {
	switch {
	case gate == "":
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "notice: a gate is required")
	case n.GetId() == "":
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "notice: an id is required")
	}
	if err := CheckNoticeText(n.GetText()); err != nil {
		return err
	}
	body, err := proto.Marshal(n)
	if err != nil {
		return fmt.Errorf("notice: %w", err)
	}
	data, err := proto.Marshal(&gamev1.PushEnvelope{Route: NoticeRoute, Body: body})
	if err != nil {
		return fmt.Errorf("notice: %w", err)
	}
	if err := pub.Publish(ctx, PushTopic(gate), gamemesh.Event{ID: eventID, Data: data}); err != nil {
		return fmt.Errorf("notice to %s: %w", gate, err)
	}
	return nil
}
