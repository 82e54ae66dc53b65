package idip

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gamemesh/gamemesh"
)

// PathPrefix starts every command's path.
const PathPrefix = "/v1/"

// ReplayHeader is set ("true") on an answer served from a serial's first
// execution; the body is that execution's, byte for byte.
const ReplayHeader = "Idip-Replay"

// Answer is the JSON body of every answer.
type Answer struct {
	OK      bool   `json:"ok"`
	Command string `json:"command"`
	Serial  string `json:"serial,omitempty"`
	// AtMs is when the command was executed (for a replay: the first time).
	AtMs int64 `json:"at_ms"`
	// Result is the command's result (on success).
	Result json.RawMessage `json:"result,omitempty"`
	// Code and Message describe a failure; Code is from the error catalogue
	// without its prefix ("INVALID_ARGUMENT").
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// request is a decoded command request.
type request interface {
	// validate checks everything that needs no I/O (INVALID_ARGUMENT).
	validate(a *App) error
	// takeSerial returns the serial and clears it (mutations; "" for reads).
	takeSerial() string
	// target is the player the request is about ("" if none).
	target() string
	// auditArgs is what the audit log records of the request.
	auditArgs() any
}

// queryRequest is a read whose arguments come from the URL query.
type queryRequest interface {
	request
	fromQuery(q url.Values) error
}

// Mutation is embedded in every mutating command's request.
type Mutation struct {
	// Serial makes the command idempotent (see the package doc); required.
	Serial string `json:"serial,omitempty"`
}

func (m *Mutation) takeSerial() string { s := m.Serial; m.Serial = ""; return s }

// read is embedded in the requests of reads.
type read struct{}

func (read) takeSerial() string { return "" }

// call is the context of one command execution.
type call struct {
	who    string
	serial string
	// at is the command's time: when its serial was first claimed.
	at time.Time
	// summary, set by the command, is the audit log's result on success.
	summary string
}

// command is one API command.
type command struct {
	name     string
	method   string
	mutating bool
	// always: served even while the idip system is switched off (the
	// commands that switch it back on, and the audit log).
	always  bool
	maxBody int64
	newReq  func() request
	run     func(ctx context.Context, c *call, r request) (any, error)
}

// cmd builds a command whose request type is *R.
func cmd[R any, P interface {
	*R
	request
}](name, method string, run func(ctx context.Context, c *call, r P) (any, error)) *command {
	return &command{
		name: name, method: method, mutating: method == http.MethodPost,
		newReq: func() request { return P(new(R)) },
		run:    func(ctx context.Context, c *call, r request) (any, error) { return run(ctx, c, r.(P)) },
	}
}

// path is the URL path of a command: "player.ban" → "/v1/player/ban".
func path(name string) string { return PathPrefix + strings.ReplaceAll(name, ".", "/") }

// Handler returns the API's HTTP handler (what Start serves).
func (a *App) Handler() http.Handler { return http.HandlerFunc(a.serve) }

func (a *App) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	began := time.Now()
	entry := AuditEntry{AtMs: a.now().UnixMilli(), Remote: r.RemoteAddr, Node: a.cfg.Node, Command: "unknown"}
	cm := a.cmds[r.URL.Path]
	if cm != nil {
		entry.Command = cm.name
	}
	status, body, replay := a.answer(r, cm, &entry)
	entry.Status, entry.DurationMs = status, float64(time.Since(began).Microseconds())/1000
	var ans Answer
	if json.Unmarshal(body, &ans) == nil {
		entry.Code = ans.Code
		if ans.OK {
			entry.Code = "OK"
		} else {
			entry.Result = ans.Message
		}
	}
	entry.Replay = replay
	// The audit write outlives a client that went away, within a bound.
	actx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), auditRetryFor+time.Second)
	defer cancel()
	if err := a.audit.append(actx, entry); err != nil {
		a.log.Error("audit append failed", "command", entry.Command, "serial", entry.Serial, "err", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if replay {
		w.Header().Set(ReplayHeader, "true")
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// answer runs one request and returns the answer's status and body; entry
// is filled with what the audit log records.
func (a *App) answer(r *http.Request, cm *command, entry *AuditEntry) (status int, body []byte, replay bool) {
	name := entry.Command
	fail := func(err error) (int, []byte, bool) {
		return a.failure(name, "", a.now(), err)
	}
	if !a.token.allows(r) {
		entry.ClaimedOperator = clip(r.Header.Get(OperatorHeader), 64)
		return fail(gamemesh.Errorf(gamemesh.CodeNotLoggedIn, "missing or wrong admin token"))
	}
	entry.Token = a.cfg.Identity
	entry.Who = a.cfg.Identity
	if op := r.Header.Get(OperatorHeader); op != "" {
		if !validOperator(op) {
			entry.ClaimedOperator = clip(op, 64)
			return fail(gamemesh.Errorf(gamemesh.CodeInvalidArgument, "%s: %s", OperatorHeader, operatorRule))
		}
		entry.Who = op
	}
	if cm == nil {
		entry.Args = mustJSON(map[string]string{"path": clip(r.URL.Path, 128)})
		return fail(gamemesh.Errorf(gamemesh.CodeUnknownRoute, "unknown command %s (see the README's IDIP API section)", clip(r.URL.Path, 128)))
	}
	if r.Method != cm.method {
		return fail(gamemesh.Errorf(gamemesh.CodeBadRequest, "%s takes %s, not %s", name, cm.method, clip(r.Method, 16)))
	}
	req, err := a.decode(r, cm)
	if err != nil {
		return fail(err)
	}
	serial := req.takeSerial()
	entry.Serial, entry.Player = serial, req.target()
	if args := req.auditArgs(); args != nil {
		entry.Args = mustJSON(args)
	}
	if cm.mutating && !validSerial(serial) {
		return fail(gamemesh.Errorf(gamemesh.CodeInvalidArgument, "%s", serialRule))
	}
	if err := req.validate(a); err != nil {
		return a.failure(name, serial, a.now(), err)
	}
	if !cm.always && a.deps.Features != nil && !a.deps.Features.Enabled(AppName) {
		return a.failure(name, serial, a.now(), gamemesh.Errorf(gamemesh.CodeFeatureDisabled,
			"idip is switched off (feature.idip); only feature, setting and audit commands are served"))
	}
	// A command runs to its end even if the operator's client goes away.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 2*a.cfg.WaitPending+time.Minute)
	defer cancel()
	c := &call{who: entry.Who, serial: serial, at: a.now()}
	if !cm.mutating {
		res, err := cm.run(ctx, c, req)
		return a.outcome(name, "", c.at, res, err)
	}
	cl, stored, err := a.serials.begin(ctx, serial, name, fingerprint(name, req), c.who)
	if err != nil {
		return a.failure(name, serial, c.at, err)
	}
	if stored != nil {
		return stored.status, stored.body, true
	}
	c.at = cl.startedAt()
	res, err := cm.run(ctx, c, req)
	status, body, _ = a.outcome(name, serial, c.at, res, err)
	if err != nil {
		if rerr := a.serials.release(ctx, cl); rerr != nil {
			a.log.Warn("serial not released; it is taken over after the lease", "serial", serial, "err", rerr)
		}
		return status, body, false
	}
	if c.summary != "" {
		entry.Result = c.summary
	}
	if ferr := a.serials.finish(ctx, cl, status, body); ferr != nil {
		a.log.Error("answer of a serial not recorded; a retry waits for the lease, then executes again", "serial", serial, "err", ferr)
	}
	return status, body, false
}

// decode reads the request of cm from r: the URL query of a read, the JSON
// body of a mutation (one object, no unknown fields, at most the command's
// body limit).
func (a *App) decode(r *http.Request, cm *command) (request, error) {
	req := cm.newReq()
	if !cm.mutating {
		qr, ok := req.(queryRequest)
		if !ok {
			return req, nil
		}
		return req, qr.fromQuery(r.URL.Query())
	}
	limit := a.cfg.MaxBody
	if cm.maxBody > 0 {
		limit = cm.maxBody
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, gamemesh.Wrap(gamemesh.CodeBadRequest, err, "reading the request body")
	}
	if int64(len(data)) > limit {
		return nil, gamemesh.Errorf(gamemesh.CodeBodyTooLarge, "request body exceeds %d bytes", limit)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(req); err != nil {
		return nil, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "bad JSON body: %s", clip(err.Error(), 200))
	}
	if dec.More() {
		return nil, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "bad JSON body: more than one value")
	}
	return req, nil
}

// fingerprint identifies a request's command and arguments (serial
// excluded): the same serial may only come back with the same fingerprint.
func fingerprint(name string, req request) string {
	data, _ := json.Marshal(req)
	sum := sha256.Sum256(append([]byte(name+"\x00"), data...))
	return hex.EncodeToString(sum[:])
}

func (a *App) outcome(name, serial string, at time.Time, res any, err error) (int, []byte, bool) {
	if err != nil {
		return a.failure(name, serial, at, err)
	}
	raw, merr := json.Marshal(res)
	if merr != nil {
		return a.failure(name, serial, at, gamemesh.Wrap(gamemesh.CodeInternal, merr, "encoding the result"))
	}
	return http.StatusOK, mustJSON(Answer{OK: true, Command: name, Serial: serial, AtMs: at.UnixMilli(), Result: raw}), false
}

func (a *App) failure(name, serial string, at time.Time, err error) (int, []byte, bool) {
	code := gamemesh.CodeOf(err)
	msg := gamemesh.MessageOf(err)
	if code == gamemesh.CodeInternal {
		a.log.Error("idip command failed", "command", name, "serial", serial, "err", err)
	} else if code == gamemesh.CodeUnavailable || code == gamemesh.CodeDeadlineExceeded {
		a.log.Warn("idip command failed", "command", name, "serial", serial, "err", err)
		var ge *gamemesh.Error
		if cause := errors.Unwrap(err); cause != nil && !errors.As(cause, &ge) {
			msg = fmt.Sprintf("%s (%s)", msg, clip(cause.Error(), 300)) // operators, not players
		}
	}
	return httpStatus(code), mustJSON(Answer{Command: name, Serial: serial, AtMs: at.UnixMilli(), Code: CodeName(code), Message: msg}), false
}

// CodeName is a catalogue code without its prefix: "INVALID_ARGUMENT".
func CodeName(c gamemesh.Code) string { return strings.TrimPrefix(c.String(), "ERROR_CODE_") }

// httpStatus maps a catalogue code to the answer's HTTP status.
func httpStatus(c gamemesh.Code) int {
	switch c {
	case gamemesh.CodeOK:
		return http.StatusOK
	case gamemesh.CodeInvalidArgument, gamemesh.CodeBadRequest:
		return http.StatusBadRequest
	case gamemesh.CodeNotLoggedIn:
		return http.StatusUnauthorized
	case gamemesh.CodePermissionDenied:
		return http.StatusForbidden
	case gamemesh.CodeNotFound, gamemesh.CodeUnknownRoute:
		return http.StatusNotFound
	case gamemesh.CodeConflict, gamemesh.CodeAlreadyDone, gamemesh.CodeLimitReached, gamemesh.CodeExpired:
		return http.StatusConflict
	case gamemesh.CodeBodyTooLarge:
		return http.StatusRequestEntityTooLarge
	case gamemesh.CodeUnavailable, gamemesh.CodeFeatureDisabled, gamemesh.CodeShuttingDown:
		return http.StatusServiceUnavailable
	case gamemesh.CodeDeadlineExceeded:
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte(`{"ok":false,"code":"INTERNAL","message":"encoding the answer"}`)
	}
	return b
}
