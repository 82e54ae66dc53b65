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
// create-only.
func (a *App) update(ctx context.Context, player gamemesh.PlayerID, fn func(b *box) (bool, error)) error {
	key := boxKey(player)
	_, err := functions.Update(ctx, a.store, key, boxUpdate, func(cur []byte, exists bool) (*functions.Write, error) {
		b, err := decodeBox(key, cur, exists)
		if err != nil {
			return nil, err
		}
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
	return err
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
