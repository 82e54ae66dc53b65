package idip_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gamemesh/gamemesh/functions/functionstest"
	"github.com/gamemesh/gamemesh/functions/idip"
)

// TestBadInputIsRefusedAndChangesNothing sends every kind of bad input the
// API must refuse: 400 (413 for a body too large) with a message naming the
// problem, and nothing changed anywhere (no mail, grant, ban, switch or
// serial; only the audit log grows).
func TestBadInputIsRefusedAndChangesNothing(t *testing.T) {
	w := newWorld(t, worldOpts{mailDouble: true})
	p, _ := w.newPlayer()
	pl := string(p)
	long := strings.Repeat("x", 300)
	n := 0
	serial := func() idip.Mutation { n++; return idip.Mutation{Serial: fmt.Sprintf("bad-%d", n)} }
	cases := []struct {
		name, command string
		body          any
		status        int
		msg           string
	}{
		{"unknown item", "grant", idip.GrantRequest{Mutation: serial(), PlayerID: pl, Items: []idip.Item{{ID: "excalibur", Count: 1}}}, 400, "unknown item"},
		{"negative count", "grant", idip.GrantRequest{Mutation: serial(), PlayerID: pl, Items: []idip.Item{{ID: "gold", Count: -5}}}, 400, "out of range"},
		{"zero count", "grant", idip.GrantRequest{Mutation: serial(), PlayerID: pl, Items: []idip.Item{{ID: "gold", Count: 0}}}, 400, "out of range"},
		{"count over the stack cap", "grant", idip.GrantRequest{Mutation: serial(), PlayerID: pl, Items: []idip.Item{{ID: "potion", Count: 1 << 40}}}, 400, "out of range"},
		{"malformed item id", "grant", idip.GrantRequest{Mutation: serial(), PlayerID: pl, Items: []idip.Item{{ID: "Gold!", Count: 1}}}, 400, "item id"},
		{"item twice", "grant", idip.GrantRequest{Mutation: serial(), PlayerID: pl, Items: []idip.Item{{ID: "gold", Count: 1}, {ID: "gold", Count: 2}}}, 400, "twice"},
		{"no items", "grant", idip.GrantRequest{Mutation: serial(), PlayerID: pl}, 400, "at least one"},
		{"unknown player grant", "grant", idip.GrantRequest{Mutation: serial(), PlayerID: "pnosuchplayer00000000", Items: []idip.Item{{ID: "gold", Count: 1}}}, 400, "unknown player"},
		{"unknown player ban", "player.ban", idip.SanctionRequest{Mutation: serial(), PlayerID: "pnosuchplayer00000000", Reason: "x"}, 400, "unknown player"},
		{"malformed player", "player.ban", idip.SanctionRequest{Mutation: serial(), PlayerID: "Robert'); DROP", Reason: "x"}, 400, "player_id"},
		{"reason too long", "player.ban", idip.SanctionRequest{Mutation: serial(), PlayerID: pl, Reason: long}, 400, "reason"},
		{"reason with control", "player.ban", idip.SanctionRequest{Mutation: serial(), PlayerID: pl, Reason: "bad\x1b[31mred"}, 400, "control character"},
		{"reason with newline", "player.mute", idip.SanctionRequest{Mutation: serial(), PlayerID: pl, Reason: "two\nlines"}, 400, "control character"},
		{"empty reason", "player.kick", idip.KickRequest{Mutation: serial(), PlayerID: pl, Reason: "  "}, 400, "reason is required"},
		{"negative duration", "player.mute", idip.SanctionRequest{Mutation: serial(), PlayerID: pl, Reason: "x", DurationS: -1}, 400, "duration_s"},
		{"notice with control", "notice", idip.NoticeRequest{Mutation: serial(), Text: "hello\x00world"}, 400, "control character"},
		{"notice too long", "notice", idip.NoticeRequest{Mutation: serial(), Text: strings.Repeat("n", 1025)}, 400, "at most 1024"},
		{"empty notice", "notice", idip.NoticeRequest{Mutation: serial(), Text: ""}, 400, "empty"},
		{"mail subject too long", "mail", idip.MailRequest{Mutation: serial(), PlayerID: pl, Subject: long}, 400, "subject"},
		{"mail unknown item", "mail", idip.MailRequest{Mutation: serial(), PlayerID: pl, Subject: "s", Attachments: []idip.Item{{ID: "nope", Count: 1}}}, 400, "unknown item"},
		{"mail unknown player", "mail", idip.MailRequest{Mutation: serial(), PlayerID: "pnosuchplayer00000000", Subject: "s"}, 400, "unknown player"},
		{"mail all negative count", "mail.all", idip.MailAllRequest{Mutation: serial(), Subject: "s", Attachments: []idip.Item{{ID: "gold", Count: -1}}}, 400, "out of range"},
		{"mail all bad audience", "mail.all", idip.MailAllRequest{Mutation: serial(), Subject: "s", Audience: idip.Audience{MinLevel: 10, MaxLevel: 5}}, 400, "min_level"},
		{"mail all in the past", "mail.all", idip.MailAllRequest{Mutation: serial(), Subject: "s", ExpiresAtMs: 1000}, 400, "past"},
		{"unknown system", "feature.off", idip.FeatureRequest{Mutation: serial(), System: "guild.x"}, 400, "invalid system id"},
		{"unknown setting", "setting.set", idip.SettingRequest{Mutation: serial(), Name: "gate.nope", Value: "1"}, 400, "unknown setting"},
		{"setting out of range", "setting.set", idip.SettingRequest{Mutation: serial(), Name: "gate.max_online", Value: "2000000"}, 400, "out of range"},
		{"setting not a number", "setting.set", idip.SettingRequest{Mutation: serial(), Name: "gate.max_online", Value: "lots"}, 400, "whole number"},
		{"script bad module", "script.push", idip.ScriptPushRequest{Mutation: serial(), Module: "../etc", Files: []idip.ScriptFile{{Name: "a.lua", Source: "x"}}}, 400, "module"},
		{"script no files", "script.push", idip.ScriptPushRequest{Mutation: serial(), Module: "achievement"}, 400, "files"},
		{"script does not compile", "script.push", idip.ScriptPushRequest{Mutation: serial(), Module: "achievement", Files: []idip.ScriptFile{{Name: "rules.lua", Source: "syntax error"}}}, 400, "push refused"},
		{"rollback negative", "script.rollback", idip.ScriptRollbackRequest{Mutation: serial(), Module: "achievement", Number: -1}, 400, "number"},
		{"unknown field", "player.ban", `{"serial":"u-1","player_id":"` + pl + `","reson":"typo"}`, 400, "unknown field"},
		{"not JSON", "player.ban", `{"serial":`, 400, "bad JSON"},
		{"two objects", "notice", `{"serial":"t-1","text":"a"}{"serial":"t-2","text":"b"}`, 400, "more than one"},
		{"wrong type", "grant", `{"serial":"w-1","player_id":"` + pl + `","items":[{"id":"gold","count":"many"}]}`, 400, "bad JSON"},
		{"body too large", "notice", `{"serial":"big-1","text":"` + strings.Repeat("a", idip.DefaultMaxBody) + `"}`, 413, "exceeds"},
	}
	before := w.snapshot()
	for _, c := range cases {
		st, ans, _ := w.post(c.command, c.body)
		if st != c.status || ans.OK || !strings.Contains(ans.Message, c.msg) {
			t.Errorf("%s: %d %s %q; want %d with %q", c.name, st, ans.Code, ans.Message, c.status, c.msg)
		}
	}
	functionstest.WantSame(t, before, w.snapshot())
	if calls, _, _ := w.mail.counts(); calls != 0 {
		t.Fatalf("refused requests reached mail %d times", calls)
	}
	if len(w.config.items) != 0 || len(w.scripts.pushes) != 0 {
		t.Fatalf("refused requests changed the config (%v) or pushed scripts (%d)", w.config.items, len(w.scripts.pushes))
	}
	if got := len(w.audit(map[string]string{"limit": "500"})); got != len(cases) {
		t.Fatalf("%d refusals audited, want %d", got, len(cases))
	}
	// Wrong method, unknown command: refused too.
	if st, _, _ := w.post("online", `{}`); st != http.StatusBadRequest {
		t.Errorf("POST to a read: %d, want 400", st)
	}
	if st, ans, _ := w.post("nosuch", `{}`); st != http.StatusNotFound || ans.Code != "UNKNOWN_ROUTE" {
		t.Errorf("unknown command: %d %+v, want 404", st, ans)
	}
}
