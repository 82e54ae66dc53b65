package mail

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// SystemSender is the "from" of mails sent by services (req.Player empty).
const SystemSender = "system"

// send delivers one mail. Idempotency by (sender, request_id) — why in the
// recipient's box and not in a separate create-only key with a TTL: two keys
// cannot be written atomically. Marker first, then mail: a failure between
// the two leaves a marker for a mail that was never delivered, and the retry
// answers "sent" for a lost mail. Mail first, then marker: a failure between
// them (or a retry that overtakes the marker write) sends twice. Recording the
// pair in the same ETag-guarded write as the mail makes "mail delivered" and
// "request seen" one fact, so any retry — whenever it lands — either finds the
// pair and answers the same mail id, or finds neither and sends. The pair is
// remembered for RequestIDWindow (bounded to maxSentRecords per box); beyond
// that, the mail id derived from the pair still dedupes while the mail exists.
func (a *App) send(ctx context.Context, req gamemesh.Request, in *gamev1.SendMailRequest) (*gamev1.SendMailResponse, error) {
	sender := SystemSender
	if req.Player != "" {
		p, err := functions.Caller(req)
		if err != nil {
			return nil, err
		}
		sender = string(p)
	}
	items, err := a.checkSend(in, req.Player != "")
	if err != nil {
		return nil, err
	}
	if in.GetTo() == "" {
		return nil, invalid("recipient required")
	}
	to := gamemesh.PlayerID(in.GetTo())
	if err := a.checkRecipient(ctx, to); err != nil {
		return nil, err
	}
	mailID := mailIDFor(to, sender, in.GetRequestId())
	if req.Player != "" {
		if err := a.spend(ctx, req.Player, to, in.GetRequestId()); err != nil {
			if quotaRefusal(err) && a.delivered(ctx, to, sender, in.GetRequestId(), mailID) {
				return &gamev1.SendMailResponse{MailId: mailID}, nil // a late retry of a mail that went out
			}
			return nil, err
		}
	}
	txt, err := a.render(ctx, in.GetSubject(), in.GetBody(), in.GetTemplate(), in.GetParams())
	if err != nil {
		return nil, err
	}
	expires := a.now().Add(a.cfg.DefaultExpiry)
	if err := a.listExpiry(ctx, to, expires.UnixMilli()); err != nil {
		return nil, err
	}

	digest := digestOf(in)
	var created *mailRec
	_, err = a.update(ctx, to, func(b *box) (bool, error) {
		created = nil
		for _, s := range b.Sent {
			if s.Sender == sender && s.RequestID == in.GetRequestId() {
				if s.Digest != digest {
					return false, invalid("request_id already used for a different mail")
				}
				return false, nil
			}
		}
		if b.mail(mailID) != nil {
			return false, nil
		}
		now := a.now()
		b.sweep(now)
		if err := a.makeRoom(b); err != nil {
			return false, err
		}
		b.NextSeq++
		created = &mailRec{
			Seq: b.NextSeq, ID: mailID, From: sender, Subject: txt.subject, Body: txt.body, Tpl: txt.tpl, Params: txt.params,
			Items: items, SentAtMs: now.UnixMilli(), ExpiresAtMs: expires.UnixMilli(),
		}
		b.Mails = append(b.Mails, created)
		b.Sent = append(b.Sent, sentRec{Sender: sender, RequestID: in.GetRequestId(), MailID: mailID, Digest: digest, AtMs: now.UnixMilli()})
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if created != nil {
		a.log.DebugContext(ctx, "mail sent", "to", to, "from", sender, "mail", mailID, "attachments", len(items))
		a.notify(ctx, to, created)
	}
	if sender != SystemSender {
		// Also on a deduplicated retry: the event id is stable, consumers apply it once.
		a.gameEvent(ctx, gamemesh.PlayerID(sender), mailID)
	}
	return &gamev1.SendMailResponse{MailId: mailID}, nil
}

// delivered reports whether the send (sender, requestID) already reached
// to's box (best effort: false when the box cannot be read).
func (a *App) delivered(ctx context.Context, to gamemesh.PlayerID, sender, requestID, mailID string) bool {
	b, err := a.load(ctx, to)
	if err != nil {
		return false
	}
	if b.mail(mailID) != nil {
		return true
	}
	for _, s := range b.Sent {
		if s.Sender == sender && s.RequestID == requestID {
			return true
		}
	}
	return false
}

// GameEventsTopic carries game events (achievements consume them).
const GameEventsTopic = "game.events"

// gameEvent publishes that player sent mail mailID, best effort: a failure is
// logged, and a retried send publishes it again under the same event id.
func (a *App) gameEvent(ctx context.Context, player gamemesh.PlayerID, mailID string) {
	id := "mail_sent-" + mailID
	data, err := proto.Marshal(&gamev1.GameEvent{Id: id, PlayerId: string(player), Kind: "mail_sent", AtMs: a.now().UnixMilli()})
	if err == nil {
		err = a.pub.Publish(ctx, GameEventsTopic, gamemesh.Event{ID: id, Data: data})
	}
	if err != nil {
		a.log.WarnContext(ctx, "mail_sent event not published", "player", player, "mail", mailID, "err", err)
	}
}

// makeRoom deletes the oldest mails without unclaimed attachments until the
// (swept) box has room for one more, or refuses with LIMIT_REACHED.
func (a *App) makeRoom(b *box) error {
	for len(b.Mails) >= a.cfg.MailboxCap {
		victim := -1
		for i, m := range b.Mails {
			if !m.unclaimed() {
				victim = i
				break
			}
		}
		if victim < 0 {
			return gamemesh.Errorf(gamemesh.CodeLimitReached, "mailbox full")
		}
		b.Mails = append(b.Mails[:victim], b.Mails[victim+1:]...)
	}
	return nil
}

// checkRecipient refuses a malformed or unknown recipient with NOT_FOUND.
func (a *App) checkRecipient(ctx context.Context, to gamemesh.PlayerID) error {
	if !to.Valid() {
		return gamemesh.Errorf(gamemesh.CodeNotFound, "no such player")
	}
	ctx, cancel := callContext(ctx)
	defer cancel()
	var out gamev1.PlayerExistsResponse
	if err := functions.Call(ctx, a.inv, "login", "exists", &gamev1.PlayerExistsRequest{PlayerId: string(to)}, &out); err != nil {
		code := gamemesh.CodeOf(err)
		if code != gamemesh.CodeDeadlineExceeded {
			code = gamemesh.CodeUnavailable
		}
		return gamemesh.Wrap(code, fmt.Errorf("login.exists: %w", err), "cannot check the recipient, retry later")
	}
	if !out.GetExists() {
		return gamemesh.Errorf(gamemesh.CodeNotFound, "no such player")
	}
	return nil
}

// notify pushes "mail.new" to the recipient, best effort.
func (a *App) notify(ctx context.Context, to gamemesh.PlayerID, m *mailRec) {
	if a.push == nil {
		return
	}
	body, err := proto.Marshal(&gamev1.NewMailPush{MailId: m.ID, From: m.From, Subject: m.Subject})
	if err == nil {
		err = a.push.Push(ctx, to, "mail.new", body)
	}
	if err != nil {
		a.log.WarnContext(ctx, "mail.new push failed", "to", to, "mail", m.ID, "err", err)
	}
}

// callContext gives a function-to-function call the default deadline when
// ctx has none.
func callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, gamemesh.DefaultDeadline)
}

// mailIDFor derives the mail id from (recipient, sender, request id).
func mailIDFor(to gamemesh.PlayerID, sender, requestID string) string {
	h := sha256.New()
	writeField(h, string(to))
	writeField(h, sender)
	writeField(h, requestID)
	return "m" + hex.EncodeToString(h.Sum(nil))[:24]
}

// digestOf fingerprints a send's content, to tell a retry from a reused request id.
func digestOf(in *gamev1.SendMailRequest) string {
	h := sha256.New()
	writeField(h, in.GetTo())
	writeField(h, in.GetSubject())
	writeField(h, in.GetBody())
	if in.GetTemplate() != "" { // only then, so that older digests stay valid
		writeField(h, in.GetTemplate())
		writeField(h, paramsDigest(in.GetParams()))
	}
	for _, it := range in.GetAttachments() {
		writeField(h, it.GetId())
		_ = binary.Write(h, binary.BigEndian, it.GetCount())
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// writeField writes s length-prefixed, so field boundaries cannot be forged.
func writeField(h hash.Hash, s string) {
	_ = binary.Write(h, binary.BigEndian, uint32(len(s)))
	h.Write([]byte(s))
}
