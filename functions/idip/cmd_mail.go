package idip

import (
	"context"
	"errors"
	"fmt"

	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// MailRequest is the request of "mail": one mail from "system" to one
// player, with attachments.
type MailRequest struct {
	Mutation
	PlayerID    string `json:"player_id"`
	Subject     string `json:"subject"`
	Body        string `json:"body"`
	Attachments []Item `json:"attachments"`
}

func (r *MailRequest) validate(a *App) error {
	err := errors.Join(checkPlayerID(r.PlayerID), checkText("subject", r.Subject, MaxSubjectLen, true, false),
		checkText("body", r.Body, MaxMailBodyLen, false, true), a.checkItems("attachments", r.Attachments, MaxAttachments, false))
	return err
}
func (r *MailRequest) target() string { return r.PlayerID }
func (r *MailRequest) auditArgs() any {
	c := *r
	c.Body = cut(c.Body, 120)
	return c
}

// Audience selects the players of a server-wide mail; every bound set must
// hold, and an empty Audience is every player.
type Audience struct {
	// MinLevel and MaxLevel bound the level, inclusive; 0 = unbounded.
	MinLevel int64 `json:"min_level,omitempty"`
	MaxLevel int64 `json:"max_level,omitempty"`
	// RegisteredBeforeMs keeps accounts created before it; 0 = unbounded.
	RegisteredBeforeMs int64 `json:"registered_before_ms,omitempty"`
}

// MailAllRequest is the request of "mail.all": one server-wide mail, stored
// once by the mail function and delivered to each matching player when it
// next reads its mail.
type MailAllRequest struct {
	Mutation
	Subject     string   `json:"subject"`
	Body        string   `json:"body"`
	Attachments []Item   `json:"attachments"`
	Audience    Audience `json:"audience"`
	// ExpiresAtMs is when the mail stops being delivered; 0 = the mail
	// function's default expiry.
	ExpiresAtMs int64 `json:"expires_at_ms"`
}

func (r *MailAllRequest) validate(a *App) error {
	au := r.Audience
	var errs []error
	if au.MinLevel < 0 || au.MaxLevel < 0 || au.RegisteredBeforeMs < 0 || r.ExpiresAtMs < 0 {
		errs = append(errs, invalid("audience bounds and expires_at_ms must not be negative"))
	}
	if au.MaxLevel > 0 && au.MinLevel > au.MaxLevel {
		errs = append(errs, invalid("audience: min_level %d is above max_level %d", au.MinLevel, au.MaxLevel))
	}
	if r.ExpiresAtMs > 0 && r.ExpiresAtMs <= a.now().UnixMilli() {
		errs = append(errs, invalid("expires_at_ms is in the past"))
	}
	return errors.Join(append(errs, checkText("subject", r.Subject, MaxSubjectLen, true, false),
		checkText("body", r.Body, MaxMailBodyLen, false, true), a.checkItems("attachments", r.Attachments, MaxAttachments, false))...)
}
func (r *MailAllRequest) target() string { return "" }
func (r *MailAllRequest) auditArgs() any {
	c := *r
	c.Body = cut(c.Body, 120)
	return c
}

// GrantRequest is the request of "grant": items for one player without a
// mail (they reach the inventory like a claimed attachment, once).
type GrantRequest struct {
	Mutation
	PlayerID string `json:"player_id"`
	Items    []Item `json:"items"`
}

func (r *GrantRequest) validate(a *App) error {
	return errors.Join(checkPlayerID(r.PlayerID), a.checkItems("items", r.Items, MaxGrantItems, true))
}
func (r *GrantRequest) target() string { return r.PlayerID }
func (r *GrantRequest) auditArgs() any { return r }

// MailResult answers "mail".
type MailResult struct {
	PlayerID string `json:"player_id"`
	MailID   string `json:"mail_id"`
}

// MailAllResult answers "mail.all".
type MailAllResult struct {
	BroadcastID string `json:"broadcast_id"`
}

// GrantResult answers "grant".
type GrantResult struct {
	PlayerID string `json:"player_id"`
	GrantID  string `json:"grant_id"`
}

func protoItems(items []Item) []*gamev1.Item {
	out := make([]*gamev1.Item, len(items))
	for i, it := range items {
		out[i] = &gamev1.Item{Id: it.ID, Count: it.Count}
	}
	return out
}

func (a *App) mailOne(ctx context.Context, c *call, r *MailRequest) (any, error) {
	if _, err := a.account(ctx, r.PlayerID); err != nil {
		return nil, err
	}
	id := requestID(c.serial)
	var out gamev1.SendMailResponse
	err := a.invoke(ctx, "mail", "send", id, &gamev1.SendMailRequest{To: r.PlayerID, Subject: r.Subject, Body: r.Body,
		Attachments: protoItems(r.Attachments), RequestId: id}, &out)
	if err != nil {
		return nil, err
	}
	c.summary = fmt.Sprintf("mail %s to %s with %d attachment(s)", out.GetMailId(), r.PlayerID, len(r.Attachments))
	return &MailResult{PlayerID: r.PlayerID, MailID: out.GetMailId()}, nil
}

func (a *App) mailAll(ctx context.Context, c *call, r *MailAllRequest) (any, error) {
	id := requestID(c.serial)
	var out gamev1.BroadcastMailResponse
	err := a.invoke(ctx, "mail", "broadcast", id, &gamev1.BroadcastMailRequest{Subject: r.Subject, Body: r.Body,
		Attachments: protoItems(r.Attachments), RequestId: id, ExpiresAtMs: r.ExpiresAtMs,
		Audience: &gamev1.Audience{MinLevel: r.Audience.MinLevel, MaxLevel: r.Audience.MaxLevel, RegisteredBeforeMs: r.Audience.RegisteredBeforeMs}}, &out)
	if err != nil {
		return nil, err
	}
	c.summary = fmt.Sprintf("server-wide mail %s with %d attachment(s)", out.GetBroadcastId(), len(r.Attachments))
	return &MailAllResult{BroadcastID: out.GetBroadcastId()}, nil
}

func (a *App) grant(ctx context.Context, c *call, r *GrantRequest) (any, error) {
	if _, err := a.account(ctx, r.PlayerID); err != nil {
		return nil, err
	}
	id := requestID(c.serial)
	var out gamev1.GrantItemsResponse
	err := a.invoke(ctx, "mail", "grant", id, &gamev1.GrantItemsRequest{PlayerId: r.PlayerID, Items: protoItems(r.Items),
		RequestId: id, Source: AppName}, &out)
	if err != nil {
		return nil, err
	}
	c.summary = fmt.Sprintf("grant %s of %d item kind(s) to %s", out.GetGrantId(), len(r.Items), r.PlayerID)
	return &GrantResult{PlayerID: r.PlayerID, GrantID: out.GetGrantId()}, nil
}
