package idip

import (
	"context"
	"encoding/json"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
)

// Limits of an audit query.
const (
	DefaultAuditLimit = 50
	MaxAuditLimit     = 500
	// MaxAuditScan bounds the pages one query reads (16 384 entries); a
	// query that reaches it answers what it found and where to continue.
	MaxAuditScan = 256
)

// AuditQuery selects audit entries, newest first. Every filter set must hold.
type AuditQuery struct {
	// Player keeps the entries about this player.
	Player string `json:"player,omitempty"`
	// Command keeps the entries of this command ("player.ban").
	Command string `json:"command,omitempty"`
	// SinceMs and UntilMs bound the entries' time (ms since the Unix epoch,
	// inclusive; 0 = unbounded).
	SinceMs int64 `json:"since_ms,omitempty"`
	UntilMs int64 `json:"until_ms,omitempty"`
	// Before keeps the entries with a sequence number below it (a previous
	// answer's next_before); 0 starts at the newest entry.
	Before int64 `json:"before,omitempty"`
	// Limit is 1 to MaxAuditLimit entries (DefaultAuditLimit when 0).
	Limit int `json:"limit,omitempty"`
}

// AuditResult answers an audit query.
type AuditResult struct {
	Entries []AuditEntry `json:"entries"`
	// NextBefore is the "before" that continues the listing; 0 when the
	// start of the log (or SinceMs) was reached.
	NextBefore int64 `json:"next_before"`
}

func (q AuditQuery) keep(e AuditEntry) bool {
	return (q.Player == "" || e.Player == q.Player) && (q.Command == "" || e.Command == q.Command) &&
		(q.SinceMs == 0 || e.AtMs >= q.SinceMs) && (q.UntilMs == 0 || e.AtMs <= q.UntilMs) &&
		(q.Before == 0 || e.Seq < q.Before)
}

// query walks the log from the newest page backwards.
func (l *auditLog) query(ctx context.Context, q AuditQuery) (AuditResult, error) {
	res := AuditResult{Entries: []AuditEntry{}}
	item, exists, err := functions.Read(ctx, l.store, auditHeadKey, "idip audit")
	if err != nil || !exists {
		return res, err
	}
	var head auditHead
	if err := json.Unmarshal(item.Value, &head); err != nil {
		return res, gamemesh.Wrap(gamemesh.CodeInternal, err, "corrupt audit head")
	}
	page := head.Page
	if q.Before > 0 {
		page = min(page, (q.Before-1)/AuditPageSize)
	}
	for scanned := 0; page >= 0; page, scanned = page-1, scanned+1 {
		if scanned == MaxAuditScan {
			res.NextBefore = (page + 1) * AuditPageSize
			return res, nil
		}
		item, exists, err := functions.Read(ctx, l.store, auditPageKey(page), "idip audit")
		if err != nil {
			return res, err
		}
		if !exists {
			continue // the head moved before its first entry was written
		}
		var p auditPage
		if err := json.Unmarshal(item.Value, &p); err != nil {
			return res, gamemesh.Wrap(gamemesh.CodeInternal, err, "corrupt audit page")
		}
		newest := int64(0)
		for i := len(p.Entries) - 1; i >= 0; i-- {
			e := p.Entries[i]
			newest = max(newest, e.AtMs)
			if !q.keep(e) {
				continue
			}
			res.Entries = append(res.Entries, e)
			if len(res.Entries) == q.Limit {
				res.NextBefore = e.Seq
				return res, nil
			}
		}
		if q.SinceMs > 0 && newest < q.SinceMs {
			return res, nil // older pages are older still
		}
	}
	return res, nil
}
