package mail

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// maxSentRecords bounds the remembered (sender, request_id) pairs per box.
const maxSentRecords = 1000

// box is the JSON value of mail/box/<player>.
type box struct {
	// NextSeq numbers mails in arrival order; page tokens are sequence numbers.
	NextSeq int64 `json:"next_seq"`
	// Mails are oldest first (ascending Seq).
	Mails []*mailRec `json:"mails,omitempty"`
	// Grants are claimed attachments not yet acknowledged by the inventory owner.
	Grants []*grantRec `json:"grants,omitempty"`
	// Sent are the recent sends to this box, oldest first.
	Sent []sentRec `json:"sent,omitempty"`
	// Bcast marks the server-wide mails this box has settled, by broadcast
	// id: delivered, or not for this player (Retry 0), or not for it yet
	// (its level is checked again from Retry on). Marks go with their
	// broadcast's expiry.
	Bcast map[string]bcastMark `json:"bcast,omitempty"`
	// Granted are the recent mail.grant requests of this box, oldest first.
	Granted []grantReq `json:"granted,omitempty"`
}

// bcastMark is a box's decision about one broadcast.
type bcastMark struct {
	// Exp is the broadcast's expiry (ms): the mark is dropped after it.
	Exp int64 `json:"e"`
	// Retry, when not 0, is when the player's level is checked again.
	Retry int64 `json:"r,omitempty"`
}

// grantReq remembers one mail.grant, so that its retry grants nothing twice.
type grantReq struct {
	RequestID string `json:"request_id"`
	GrantID   string `json:"grant_id"`
	Digest    string `json:"digest"`
	AtMs      int64  `json:"at_ms"`
}

type mailRec struct {
	Seq         int64     `json:"seq"`
	ID          string    `json:"id"`
	From        string    `json:"from"`
	Subject     string    `json:"subject,omitempty"`
	Body        string    `json:"body,omitempty"`
	Items       []itemRec `json:"items,omitempty"`
	SentAtMs    int64     `json:"sent_at_ms"`
	ExpiresAtMs int64     `json:"expires_at_ms"`
	Read        bool      `json:"read,omitempty"`
	Claimed     bool      `json:"claimed,omitempty"`
	GrantID     string    `json:"grant_id,omitempty"`
	// ClaimReq is the request id of the claim that took effect, so that the
	// same request retried gets the same answer.
	ClaimReq string `json:"claim_req,omitempty"`
	// Bcast is the broadcast this mail was delivered from ("" for personal mail).
	Bcast string `json:"bcast,omitempty"`
	// Tpl and Params are kept while the mail's template could not be
	// rendered (Lua unavailable): Subject and Body then hold a fallback
	// text, and readers render it again.
	Tpl    string            `json:"tpl,omitempty"`
	Params map[string]string `json:"params,omitempty"`
}

type itemRec struct {
	ID    string `json:"id"`
	Count int64  `json:"count"`
}

type grantRec struct {
	ID     string    `json:"id"`
	MailID string    `json:"mail_id"`
	Items  []itemRec `json:"items"`
	Source string    `json:"source"`
}

type sentRec struct {
	Sender    string `json:"sender"`
	RequestID string `json:"request_id"`
	MailID    string `json:"mail_id"`
	Digest    string `json:"digest"`
	AtMs      int64  `json:"at_ms"`
}

func boxKey(player gamemesh.PlayerID) string { return "mail/box/" + string(player) }

func (m *mailRec) expired(now time.Time) bool { return now.UnixMilli() >= m.ExpiresAtMs }

// unclaimed reports whether m still has attachments waiting to be claimed.
func (m *mailRec) unclaimed() bool { return len(m.Items) > 0 && !m.Claimed }

func (b *box) mail(id string) *mailRec {
	for _, m := range b.Mails {
		if m.ID == id {
			return m
		}
	}
	return nil
}

// sweep drops expired mails and forgets sends older than RequestIDWindow
// (and the oldest beyond maxSentRecords).
func (b *box) sweep(now time.Time) {
	live := b.Mails[:0]
	for _, m := range b.Mails {
		if !m.expired(now) {
			live = append(live, m)
		}
	}
	clear(b.Mails[len(live):])
	b.Mails = live

	cutoff := now.Add(-RequestIDWindow).UnixMilli()
	i := 0
	for i < len(b.Sent) && (b.Sent[i].AtMs < cutoff || len(b.Sent)-i > maxSentRecords) {
		i++
	}
	b.Sent = append([]sentRec(nil), b.Sent[i:]...)
	i = 0
	for i < len(b.Granted) && (b.Granted[i].AtMs < cutoff || len(b.Granted)-i > maxSentRecords) {
		i++
	}
	b.Granted = append([]grantReq(nil), b.Granted[i:]...)
	for id, m := range b.Bcast {
		if now.UnixMilli() >= m.Exp {
			delete(b.Bcast, id)
		}
	}
}

// expiredCount counts the mails of b that have expired.
func (b *box) expiredCount(now time.Time) int {
	n := 0
	for _, m := range b.Mails {
		if m.expired(now) {
			n++
		}
	}
	return n
}

// boxUpdate shapes the read-modify-write loop of a box.
var boxUpdate = functions.UpdateOptions{
	MaxAttempts: 16,
	Busy:        gamemesh.Errorf(gamemesh.CodeConflict, "mailbox busy, retry"),
	What:        "mail",
}

// load reads the box of player; a missing box is empty.
func (a *App) load(ctx context.Context, player gamemesh.PlayerID) (*box, error) {
	key := boxKey(player)
	item, exists, err := functions.Read(ctx, a.store, key, boxUpdate.What)
	if err != nil {
		return nil, err
	}
	return decodeBox(key, item.Value, exists)
}

// decodeBox decodes the stored value of key; a missing box is empty.
func decodeBox(key string, val []byte, exists bool) (*box, error) {
	var b box
	if !exists {
		return &b, nil
	}
	if err := json.Unmarshal(val, &b); err != nil {
		return nil, gamemesh.Wrap(gamemesh.CodeInternal, fmt.Errorf("decode %s: %w", key, err), "corrupt mailbox")
	}
	return &b, nil
}

// update runs fn on the box of player with functions.Update. fn sees the box
// as stored (expired mails included) and returns whether to write it; it may
// run several times and must set its results afresh each time. A written box
// is swept first. fn's error is returned as is, with nothing written. On
// CONFLICT the box is re-read and fn decides again; a missing box is created
// create-only. It returns the box as stored after the call (as fn left it).
func (a *App) update(ctx context.Context, player gamemesh.PlayerID, fn func(b *box) (bool, error)) (*box, error) {
	key := boxKey(player)
	var last *box
	_, err := functions.Update(ctx, a.store, key, boxUpdate, func(cur []byte, exists bool) (*functions.Write, error) {
		b, err := decodeBox(key, cur, exists)
		if err != nil {
			return nil, err
		}
		last = b
		write, err := fn(b)
		if err != nil || !write {
			return nil, err
		}
		b.sweep(a.now())
		val, err := json.Marshal(b)
		if err != nil {
			return nil, gamemesh.Wrap(gamemesh.CodeInternal, fmt.Errorf("encode %s: %w", key, err), "encoding mailbox")
		}
		return &functions.Write{Value: val}, nil
	})
	if err != nil {
		return nil, err
	}
	return last, nil
}

func (m *mailRec) toProto() *gamev1.Mail {
	return &gamev1.Mail{
		Id:          m.ID,
		From:        m.From,
		Subject:     m.Subject,
		Body:        m.Body,
		Attachments: itemsToProto(m.Items),
		SentAtMs:    m.SentAtMs,
		ExpiresAtMs: m.ExpiresAtMs,
		Read:        m.Read,
		Claimed:     m.Claimed,
		BroadcastId: m.Bcast,
	}
}

func (g *grantRec) toProto(player gamemesh.PlayerID) *gamev1.Grant {
	return &gamev1.Grant{Id: g.ID, PlayerId: string(player), Items: itemsToProto(g.Items), Source: g.Source}
}

func itemsToProto(items []itemRec) []*gamev1.Item {
	out := make([]*gamev1.Item, len(items))
	for i, it := range items {
		out[i] = &gamev1.Item{Id: it.ID, Count: it.Count}
	}
	return out
}
