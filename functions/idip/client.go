package idip

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// TokenEnv names the environment variable operators' tools read the admin
// token from (gamemesh ctl --idip, gamemesh bots --idip).
const TokenEnv = "GAMEMESH_IDIP_TOKEN"

// Client calls an IDIP API: what `gamemesh ctl --idip` and the bots'
// operator use, and the reference for operators' own tools.
type Client struct {
	// URL is the API's base URL, e.g. "http://127.0.0.1:7102".
	URL string
	// Token is the admin token.
	Token string
	// Operator names the caller in the audit log (optional).
	Operator string
	// HTTP is the client used (http.DefaultClient when nil).
	HTTP *http.Client
}

// Error is a refused or failed command as the API answered it.
type Error struct {
	Status  int
	Command string
	Code    gamemesh.Code
	Message string
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("idip %s: %s (%s, HTTP %d)", e.Command, e.Message, CodeName(e.Code), e.Status)
}

// Unwrap lets gamemesh.CodeOf and errors.Is see the catalogue code.
func (e *Error) Unwrap() error { return &gamemesh.Error{Code: e.Code, Message: e.Message} }

// Post runs a mutating command: in is its request (with its serial), out
// (optional) receives the result. It returns the whole answer.
func (c *Client) Post(ctx context.Context, command string, in, out any) (*Answer, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("idip %s: encoding the request: %w", command, err)
	}
	return c.do(ctx, http.MethodPost, command, Path(command), bytes.NewReader(body), out)
}

// Get runs a read with the given query parameters; out receives the result.
func (c *Client) Get(ctx context.Context, command string, query url.Values, out any) (*Answer, error) {
	p := Path(command)
	if len(query) > 0 {
		p += "?" + query.Encode()
	}
	return c.do(ctx, http.MethodGet, command, p, nil, out)
}

func (c *Client) do(ctx context.Context, method, command, p string, body io.Reader, out any) (*Answer, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.URL, "/")+p, body)
	if err != nil {
		return nil, fmt.Errorf("idip %s: %w", command, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Content-Type", "application/json")
	if c.Operator != "" {
		req.Header.Set(OperatorHeader, c.Operator)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, gamemesh.Wrap(gamemesh.CodeUnavailable, err, fmt.Sprintf("idip %s: %s does not answer: %v", command, c.URL, err))
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, gamemesh.Wrap(gamemesh.CodeUnavailable, err, fmt.Sprintf("idip %s: reading the answer: %v", command, err))
	}
	var ans Answer
	if err := json.Unmarshal(data, &ans); err != nil {
		return nil, &Error{Status: resp.StatusCode, Command: command, Code: gamemesh.CodeInternal,
			Message: fmt.Sprintf("not an IDIP answer (%s): %.200q", resp.Status, data)}
	}
	if !ans.OK {
		code := gamev1.ErrorCode(gamev1.ErrorCode_value["ERROR_CODE_"+ans.Code])
		if code == gamemesh.CodeOK {
			code = gamemesh.CodeInternal
		}
		return &ans, &Error{Status: resp.StatusCode, Command: command, Code: code, Message: ans.Message}
	}
	if out != nil && len(ans.Result) > 0 {
		if err := json.Unmarshal(ans.Result, out); err != nil {
			return &ans, fmt.Errorf("idip %s: decoding the result: %w", command, err)
		}
	}
	return &ans, nil
}

// NewSerial returns a fresh serial with a prefix naming the tool ("ctl").
func NewSerial(prefix string) string { return prefix + "-" + gamemesh.NewID() }
