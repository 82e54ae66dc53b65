package mail

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// TemplatesModule and RenderFunction name the Lua module and export that
// render template mails: render(template, params) -> subject, body, or
// nil, reason for a template that does not exist or params it refuses.
const (
	TemplatesModule = "mail"
	RenderFunction  = "render"
)

// Template limits.
const (
	maxTemplateLen   = 32
	maxParams        = 16
	maxParamKeyLen   = 32
	maxParamValueLen = 256
)

// Fallback text of a template mail whose template could not be rendered.
const (
	FallbackSubject = "System mail"
	FallbackBody    = "The text of this mail is not available right now. Its attachments are."
)

// TemplateCall is one render call.
type TemplateCall struct {
	Template string
	Params   map[string]string
}

// Args returns the call's arguments in render's order.
func (c TemplateCall) Args() []any {
	p := make(map[string]any, len(c.Params))
	for k, v := range c.Params {
		p[k] = v
	}
	return []any{c.Template, p}
}

// Rendered is what one render call gave: the text, or Refused (the template
// refused the call: unknown template, missing parameter), or Err (the call
// failed: Lua unavailable, a script error, a budget).
type Rendered struct {
	Subject, Body string
	Refused       string
	Err           error
}

// NewRendered builds a Rendered from the values a Lua render call returned.
func NewRendered(values []any, err error) Rendered {
	if err != nil {
		return Rendered{Err: err}
	}
	if len(values) == 0 {
		return Rendered{Err: fmt.Errorf("%s returned nothing", RenderFunction)}
	}
	if values[0] == nil {
		reason := "template refused"
		if len(values) > 1 {
			if s, ok := values[1].(string); ok && s != "" {
				reason = s
			}
		}
		return Rendered{Refused: reason}
	}
	subject, ok := values[0].(string)
	if !ok {
		return Rendered{Err: fmt.Errorf("%s returned a subject of type %T", RenderFunction, values[0])}
	}
	var body string
	if len(values) > 1 && values[1] != nil {
		if body, ok = values[1].(string); !ok {
			return Rendered{Err: fmt.Errorf("%s returned a body of type %T", RenderFunction, values[1])}
		}
	}
	return Rendered{Subject: subject, Body: body}
}

// Templates renders template mails; the Lua module scripts/mail behind a
// small adapter (internal/system) implements it. Render runs calls in one
// batch and returns one result per call; its error is for the batch.
type Templates interface {
	Render(ctx context.Context, calls []TemplateCall) ([]Rendered, error)
}

// checkTemplate validates a template id and its parameters.
func checkTemplate(id string, params map[string]string) error {
	if !validToken(id, maxTemplateLen) {
		return invalid("template must be 1 to %d characters of [a-z0-9_]", maxTemplateLen)
	}
	if len(params) > maxParams {
		return invalid("at most %d template params", maxParams)
	}
	for k, v := range params {
		if !validToken(k, maxParamKeyLen) {
			return invalid("template param names must be 1 to %d characters of [a-z0-9_]", maxParamKeyLen)
		}
		if !validText(v, maxParamValueLen, false) {
			return invalid("template param %s must be at most %d bytes of UTF-8 without control characters", k, maxParamValueLen)
		}
	}
	return nil
}

// validToken reports whether s is 1 to max characters of [a-z0-9_].
func validToken(s string, max int) bool {
	if len(s) < 1 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// text is the subject and body of a mail, and its template while unrendered.
type text struct {
	subject, body string
	tpl           string
	params        map[string]string
}

// render turns a template into text. A template that refuses the call (or
// is unknown) is INVALID_ARGUMENT and nothing is sent. When rendering fails
// — Lua unavailable, no Templates, a script error, text out of limits — the
// mail still goes out, with the fallback text and its template kept, so that
// readers render it once Lua is back: degraded, nothing lost.
func (a *App) render(ctx context.Context, subject, body, tpl string, params map[string]string) (text, error) {
	if tpl == "" {
		return text{subject: subject, body: body}, nil
	}
	fallback := text{subject: FallbackSubject, body: FallbackBody, tpl: tpl, params: params}
	if a.tpl == nil {
		return fallback, nil
	}
	res, err := a.tpl.Render(ctx, []TemplateCall{{Template: tpl, Params: params}})
	if err == nil && len(res) != 1 {
		err = fmt.Errorf("templates answered %d results for 1 call", len(res))
	}
	if err == nil {
		err = res[0].Err
	}
	if err != nil {
		a.log.WarnContext(ctx, "mail template not rendered; sending with the fallback text", "template", tpl, "err", err)
		return fallback, nil
	}
	if res[0].Refused != "" {
		return text{}, invalid("template %s: %s", tpl, res[0].Refused)
	}
	if err := checkRendered(res[0]); err != nil {
		a.log.ErrorContext(ctx, "mail template rendered text out of limits; sending with the fallback text", "template", tpl, "err", err)
		return fallback, nil
	}
	return text{subject: res[0].Subject, body: res[0].Body}, nil
}

// checkRendered applies the limits of a mail's text to a rendered one.
func checkRendered(r Rendered) error {
	if r.Subject == "" || !validText(r.Subject, MaxSubjectLen, false) {
		return fmt.Errorf("subject %.80q: want 1 to %d bytes without control characters", r.Subject, MaxSubjectLen)
	}
	if !validText(r.Body, MaxBodyLen, true) {
		return fmt.Errorf("body: want at most %d bytes without control characters other than newline", MaxBodyLen)
	}
	return nil
}

// rerender renders again, in one batch, the mails of ms still showing the
// fallback text, in place (their stored copies are not changed). Best
// effort: while Lua is unavailable they keep the fallback.
func (a *App) rerender(ctx context.Context, ms []*mailRec) {
	if a.tpl == nil {
		return
	}
	var todo []*mailRec
	var calls []TemplateCall
	for _, m := range ms {
		if m.Tpl != "" {
			todo = append(todo, m)
			calls = append(calls, TemplateCall{Template: m.Tpl, Params: m.Params})
		}
	}
	if len(calls) == 0 {
		return
	}
	res, err := a.tpl.Render(ctx, calls)
	if err != nil || len(res) != len(calls) {
		return
	}
	for i, m := range todo {
		if res[i].Err == nil && res[i].Refused == "" && checkRendered(res[i]) == nil {
			m.Subject, m.Body = res[i].Subject, res[i].Body
		}
	}
}

// paramsDigest writes params in a stable order for digests.
func paramsDigest(params map[string]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%d:%s=%d:%s;", len(k), k, len(params[k]), params[k])
	}
	return b.String()
}
