package idip

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// commands returns the API, by URL path.
func (a *App) commands() map[string]*command {
	list := []*command{
		cmd("player", http.MethodGet, a.queryPlayer),
		cmd("player.ban", http.MethodPost, a.ban),
		cmd("player.unban", http.MethodPost, a.unban),
		cmd("player.kick", http.MethodPost, a.kickCmd),
		cmd("player.mute", http.MethodPost, a.mute),
		cmd("player.unmute", http.MethodPost, a.unmute),
		cmd("mail", http.MethodPost, a.mailOne),
		cmd("mail.all", http.MethodPost, a.mailAll),
		cmd("grant", http.MethodPost, a.grant),
		cmd("notice", http.MethodPost, a.notice),
		cmd("online", http.MethodGet, a.online),
		always(cmd("feature", http.MethodGet, a.featureList)),
		always(cmd("feature.on", http.MethodPost, a.featureSwitch(true))),
		always(cmd("feature.off", http.MethodPost, a.featureSwitch(false))),
		always(cmd("setting", http.MethodGet, a.settingList)),
		always(cmd("setting.get", http.MethodGet, a.settingGet)),
		always(cmd("setting.set", http.MethodPost, a.settingSet)),
		cmd("script", http.MethodGet, a.scriptHistory),
		cmd("script.modules", http.MethodGet, a.scriptModules),
		withBody(cmd("script.push", http.MethodPost, a.scriptPush), a.cfg.MaxScriptBody),
		cmd("script.rollback", http.MethodPost, a.scriptRollback),
		always(cmd("audit", http.MethodGet, a.auditQuery)),
	}
	out := make(map[string]*command, len(list))
	for _, c := range list {
		out[path(c.name)] = c
	}
	return out
}

func always(c *command) *command { c.always = true; return c }

func withBody(c *command, n int64) *command { c.maxBody = n; return c }

// Commands lists the API's commands and their HTTP methods, by name.
func Commands() map[string]string {
	a := &App{}
	out := map[string]string{}
	for _, c := range a.commands() {
		out[c.name] = c.method
	}
	return out
}

// Path returns the URL path of the named command ("player.ban" →
// "/v1/player/ban").
func Path(command string) string { return path(command) }

// AuditRequest is the request of "audit" (GET /v1/audit?...): the request
// log, newest first.
type AuditRequest struct {
	read
	AuditQuery
}

func (q *AuditRequest) fromQuery(v url.Values) error {
	q.Player, q.Command = v.Get("player"), v.Get("command")
	var err error
	if q.SinceMs, err = timeParam(v, "since"); err != nil {
		return err
	}
	if q.UntilMs, err = timeParam(v, "until"); err != nil {
		return err
	}
	if q.Before, err = intParam(v, "before"); err != nil {
		return err
	}
	n, err := intParam(v, "limit")
	q.Limit = int(n)
	return err
}

func (q *AuditRequest) validate(*App) error {
	switch {
	case q.Limit < 0 || q.Limit > MaxAuditLimit:
		return invalid("limit must be 1 to %d", MaxAuditLimit)
	case q.Before < 0:
		return invalid("before must not be negative")
	case q.UntilMs > 0 && q.SinceMs > q.UntilMs:
		return invalid("since is after until")
	case len(q.Player) > 64 || len(q.Command) > 64:
		return invalid("player and command are at most 64 characters")
	}
	if q.Limit == 0 {
		q.Limit = DefaultAuditLimit
	}
	return nil
}
func (q *AuditRequest) target() string { return "" }
func (q *AuditRequest) auditArgs() any { return q.AuditQuery }

func (a *App) auditQuery(ctx context.Context, _ *call, q *AuditRequest) (any, error) {
	return a.audit.query(ctx, q.AuditQuery)
}

// timeParam reads a time given as RFC 3339 or as ms since the Unix epoch.
func timeParam(v url.Values, name string) (int64, error) {
	s := v.Get(name)
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= 0 {
		return n, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return 0, invalid("%s %.40q: want RFC 3339 (2030-01-02T03:04:05Z) or ms since the Unix epoch", name, s)
	}
	return t.UnixMilli(), nil
}

func intParam(v url.Values, name string) (int64, error) {
	s := v.Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, invalid("%s %.40q is not a whole number", name, s)
	}
	return n, nil
}
