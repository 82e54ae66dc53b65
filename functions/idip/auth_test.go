package idip_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gamemesh/gamemesh/functions/functionstest"
	"github.com/gamemesh/gamemesh/functions/idip"
)

func TestMissingOrWrongTokenIs401AndAudited(t *testing.T) {
	w := newWorld(t, worldOpts{mailDouble: true})
	p, _ := w.newPlayer()
	body := `{"serial":"s-1","player_id":"` + string(p) + `","items":[{"id":"gold","count":5}]}`
	before := w.snapshot()
	for name, header := range map[string]string{
		"no header":      "",
		"no bearer":      testToken,
		"wrong token":    "Bearer " + strings.Repeat("x", len(testToken)),
		"prefix of it":   "Bearer " + testToken[:len(testToken)-1],
		"token plus one": "Bearer " + testToken + "x",
		"basic auth":     "Basic " + testToken,
		"huge":           "Bearer " + strings.Repeat("t", 4000),
	} {
		req, _ := http.NewRequest(http.MethodPost, w.app.URL()+idip.Path("grant"), strings.NewReader(body))
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		req.Header.Set(idip.OperatorHeader, "mallory\tthe admin")
		st, ans, _ := w.send(req)
		if st != http.StatusUnauthorized || ans.OK || ans.Code != "NOT_LOGGED_IN" {
			t.Errorf("%s: %d %+v, want 401", name, st, ans)
		}
	}
	// Unknown commands are refused for their token first (no discovery).
	req, _ := http.NewRequest(http.MethodGet, w.app.URL()+"/v1/nosuch", nil)
	if st, _, _ := w.send(req); st != http.StatusUnauthorized {
		t.Errorf("unknown command without token: %d, want 401", st)
	}
	functionstest.WantSame(t, before, w.snapshot())
	if calls, _, _ := w.mail.counts(); calls != 0 {
		t.Fatalf("an unauthenticated grant reached mail (%d calls)", calls)
	}
	refused := 0
	for _, e := range w.audit(map[string]string{"limit": "100"}) {
		if e.Status == http.StatusUnauthorized {
			refused++
			if e.Who != "" || e.Token != "" || e.Remote == "" {
				t.Errorf("401 entry %+v: want no identity, the remote address", e)
			}
			if e.Command == "grant" && e.ClaimedOperator != "mallory?the admin" {
				t.Errorf("401 entry records claimed operator %q, want the header cleaned", e.ClaimedOperator)
			}
		}
	}
	if refused != 8 {
		t.Fatalf("%d refused calls audited, want 8", refused)
	}
	// The right token works, and the operator header names who.
	var res idip.GrantResult
	if _, err := w.cli.Post(context.Background(), "grant", idip.GrantRequest{Mutation: idip.Mutation{Serial: "s-1"},
		PlayerID: string(p), Items: []idip.Item{{ID: "gold", Count: 5}}}, &res); err != nil || res.GrantID == "" {
		t.Fatalf("grant with the token: %+v, %v", res, err)
	}
	if e := w.audit(map[string]string{"command": "grant", "limit": "1"}); len(e) != 1 || e[0].Who != "alice" || e[0].Token != "admin" || e[0].Status != 200 {
		t.Fatalf("audit of the accepted grant: %+v", e)
	}
	// A bad operator name is refused (after the token).
	req, _ = http.NewRequest(http.MethodGet, w.app.URL()+idip.Path("online"), nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set(idip.OperatorHeader, "has space")
	if st, ans, _ := w.send(req); st != http.StatusBadRequest {
		t.Fatalf("bad operator header: %d %+v", st, ans)
	}
}

func TestNewRefusesWeakTokens(t *testing.T) {
	deps := idip.Deps{Store: functionstest.NewMemStore(nil), Invoker: functionstest.Invoker{}, Locator: nil}
	for name, tok := range map[string]string{
		"empty":    "",
		"short":    "0123456789abcdef0123456789abcde",
		"repeated": strings.Repeat("a", 40),
		"space":    "0123456789abcdef 0123456789abcdef",
		"control":  "0123456789abcdef\n0123456789abcdef",
	} {
		if _, err := idip.New(idip.Config{Addr: "127.0.0.1:0", Token: tok}, deps); err == nil {
			t.Errorf("%s token accepted", name)
		}
		if err := idip.CheckToken(tok); err == nil {
			t.Errorf("CheckToken accepted the %s token", name)
		}
	}
	if err := idip.CheckToken(testToken); err != nil {
		t.Fatal(err)
	}
}

func TestHealthNeedsNoToken(t *testing.T) {
	w := newWorld(t, worldOpts{mailDouble: true})
	resp, err := w.cli.HTTP.Get(w.app.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("/healthz: %d", resp.StatusCode)
	}
}
