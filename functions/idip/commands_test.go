package idip_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/functions/idip"
)

func TestMailAllAndGrantCallMailWithRequestIDsFromTheSerial(t *testing.T) {
	w := newWorld(t, worldOpts{mailDouble: true})
	p, _ := w.newPlayer()
	ctx := context.Background()
	expires := time.Now().Add(48 * time.Hour).UnixMilli()
	var all idip.MailAllResult
	if _, err := w.cli.Post(ctx, "mail.all", idip.MailAllRequest{Mutation: idip.Mutation{Serial: "all-1"}, Subject: "Anniversary",
		Body: "Thanks for playing!", Attachments: []idip.Item{{ID: "gem", Count: 50}},
		Audience: idip.Audience{MinLevel: 10, RegisteredBeforeMs: 1_900_000_000_000}, ExpiresAtMs: expires}, &all); err != nil {
		t.Fatal(err)
	}
	var g idip.GrantResult
	if _, err := w.cli.Post(ctx, "grant", idip.GrantRequest{Mutation: idip.Mutation{Serial: "grant-7"}, PlayerID: string(p),
		Items: []idip.Item{{ID: "gold", Count: 1000}, {ID: "elixir", Count: 1}}}, &g); err != nil {
		t.Fatal(err)
	}
	w.mail.mu.Lock()
	defer w.mail.mu.Unlock()
	if len(w.mail.broadcasts) != 1 || len(w.mail.grants) != 1 {
		t.Fatalf("broadcasts %v, grants %v", w.mail.broadcasts, w.mail.grants)
	}
	for id, b := range w.mail.broadcasts {
		if all.BroadcastID != "b-"+id || !strings.HasPrefix(id, "idip-") || b.GetSubject() != "Anniversary" || b.GetExpiresAtMs() != expires ||
			b.GetAudience().GetMinLevel() != 10 || b.GetAudience().GetRegisteredBeforeMs() != 1_900_000_000_000 || b.GetAttachments()[0].GetCount() != 50 {
			t.Fatalf("broadcast %s: %v (answer %+v)", id, b, all)
		}
	}
	for id, gr := range w.mail.grants {
		if g.GrantID != "g-"+id || gr.GetPlayerId() != string(p) || gr.GetSource() != "idip" || len(gr.GetItems()) != 2 {
			t.Fatalf("grant %s: %v (answer %+v)", id, gr, g)
		}
		for bid := range w.mail.broadcasts {
			if bid == id {
				t.Fatal("two serials gave the same request id")
			}
		}
	}
}

func TestFeatureAndSettingCommands(t *testing.T) {
	w := newWorld(t, worldOpts{mailDouble: true})
	ctx := context.Background()
	var sw idip.SwitchResult
	if _, err := w.cli.Post(ctx, "feature.off", idip.FeatureRequest{Mutation: idip.Mutation{Serial: "f-1"}, System: "guild"}, &sw); err != nil {
		t.Fatal(err)
	}
	if sw.State != "off" || sw.Version != "1" || w.config.value("feature.guild") != (gamemesh.ConfigItem{Value: "off", Version: "1"}) {
		t.Fatalf("feature.off: %+v, store %v", sw, w.config.value("feature.guild"))
	}
	if _, err := w.cli.Post(ctx, "feature.on", idip.FeatureRequest{Mutation: idip.Mutation{Serial: "f-2"}, System: "guild"}, &sw); err != nil || sw.Version != "2" {
		t.Fatalf("feature.on: %+v, %v", sw, err)
	}
	_, _ = w.config.Set(ctx, "feature.pvp", "maybe")
	var list []idip.FeatureState
	if _, err := w.cli.Get(ctx, "feature", nil, &list); err != nil {
		t.Fatal(err)
	}
	states := map[string]idip.FeatureState{}
	for _, f := range list {
		states[f.System] = f
	}
	if states["guild"].State != "on" || states["guild"].Version != "2" || states["mail"].Version != "" || states["mail"].State != "on" ||
		states["pvp"].Invalid == "" || states["pvp"].State != "on" {
		t.Fatalf("feature list %+v", list)
	}
	var set idip.SettingResult
	if _, err := w.cli.Post(ctx, "setting.set", map[string]any{"serial": "s-1", "name": "gate.max_online", "value": 20000}, &set); err != nil {
		t.Fatal(err)
	}
	if set.Value != "20000" || set.Version != "1" || w.config.value("setting.gate.max_online").Value != "20000" {
		t.Fatalf("setting.set: %+v", set)
	}
	var one idip.SettingState
	if _, err := w.cli.Get(ctx, "setting.get", url.Values{"name": {"gate.max_online"}}, &one); err != nil {
		t.Fatal(err)
	}
	if one.Value != "20000" || one.Default != "10000" || one.Version != "1" || one.Max != "1000000" {
		t.Fatalf("setting.get: %+v", one)
	}
	var all []idip.SettingState
	if _, err := w.cli.Get(ctx, "setting", nil, &all); err != nil || len(all) < 8 {
		t.Fatalf("setting list: %d, %v", len(all), err)
	}
	for _, s := range all {
		if s.Name == "lua.call_deadline_ms" && (s.Unit != "ms" || s.Version != "" || s.Value != s.Default) {
			t.Fatalf("unset duration setting %+v", s)
		}
	}
	if _, err := w.cli.Get(ctx, "setting.get", url.Values{"name": {"nope"}}, &one); gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
		t.Fatalf("setting.get of an unknown setting: %v", err)
	}
}

func TestScriptCommands(t *testing.T) {
	w := newWorld(t, worldOpts{mailDouble: true})
	ctx := context.Background()
	var gen idip.ScriptGeneration
	files := []idip.ScriptFile{{Name: "rules.lua", Source: "return {}"}}
	if _, err := w.cli.Post(ctx, "script.push", idip.ScriptPushRequest{Mutation: idip.Mutation{Serial: "sp-1"}, Module: "achievement", Files: files, Source: "ctl push"}, &gen); err != nil {
		t.Fatal(err)
	}
	if gen.Number != 1 || gen.By != "alice" || gen.Source != "ctl push" || w.scripts.files[0][0].Source != "return {}" {
		t.Fatalf("push: %+v", gen)
	}
	if _, err := w.cli.Post(ctx, "script.push", idip.ScriptPushRequest{Mutation: idip.Mutation{Serial: "sp-2"}, Module: "achievement", Files: files}, &gen); err != nil || gen.Number != 2 || gen.Source != "idip" {
		t.Fatalf("second push: %+v, %v", gen, err)
	}
	var h idip.ScriptHistory
	if _, err := w.cli.Get(ctx, "script", url.Values{"module": {"achievement"}}, &h); err != nil || len(h.Generations) != 2 || h.Active != gen.Hash {
		t.Fatalf("history: %+v, %v", h, err)
	}
	if _, err := w.cli.Post(ctx, "script.rollback", idip.ScriptRollbackRequest{Mutation: idip.Mutation{Serial: "rb-1"}, Module: "achievement", Number: 1}, &gen); err != nil || gen.Number != 1 || gen.By != "alice" {
		t.Fatalf("rollback: %+v, %v", gen, err)
	}
	_, err := w.cli.Post(ctx, "script.rollback", idip.ScriptRollbackRequest{Mutation: idip.Mutation{Serial: "rb-2"}, Module: "achievement", Number: 9}, nil)
	if gamemesh.CodeOf(err) != gamemesh.CodeNotFound {
		t.Fatalf("rollback to a missing generation: %v", err)
	}
	var mods []string
	if _, err := w.cli.Get(ctx, "script.modules", nil, &mods); err != nil || len(mods) != 1 {
		t.Fatalf("modules: %v, %v", mods, err)
	}
	// The audit log keeps the push's file names and sizes, not the source.
	e := w.audit(map[string]string{"command": "script.push", "limit": "1"})
	if len(e) != 1 || !strings.Contains(string(e[0].Args), `"rules.lua"`) || strings.Contains(string(e[0].Args), "return {}") {
		t.Fatalf("audit of a push: %s", e[0].Args)
	}
}

func TestScriptCommandsWithoutAPublisherAreUnavailable(t *testing.T) {
	w := newWorld(t, worldOpts{mailDouble: true})
	app, err := idip.New(idip.Config{Addr: "127.0.0.1:0", Token: testToken}, idip.Deps{Store: w.mem, Invoker: nopInvoker{}, Locator: w.dir,
		Publisher: w.bus, Roster: w.roster, Config: w.config})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer app.Stop(context.Background())
	cli := &idip.Client{URL: app.URL(), Token: testToken, HTTP: w.cli.HTTP}
	if _, err := cli.Get(context.Background(), "script.modules", nil, nil); gamemesh.CodeOf(err) != gamemesh.CodeUnavailable {
		t.Fatalf("script.modules without Scripts: %v", err)
	}
}

type nopInvoker struct{}

func (nopInvoker) Invoke(context.Context, gamemesh.Request) ([]byte, error) {
	return nil, gamemesh.Errorf(gamemesh.CodeUnavailable, "nothing here")
}

func TestSwitchedOffIDIPServesOnlyFeatureSettingAndAudit(t *testing.T) {
	w := newWorld(t, worldOpts{mailDouble: true})
	p, _ := w.newPlayer()
	w.flags.set("idip", false)
	ctx := context.Background()
	_, err := w.cli.Post(ctx, "grant", idip.GrantRequest{Mutation: idip.Mutation{Serial: "g-off"}, PlayerID: string(p), Items: []idip.Item{{ID: "gold", Count: 1}}}, nil)
	if gamemesh.CodeOf(err) != gamemesh.CodeFeatureDisabled {
		t.Fatalf("grant while idip is off: %v", err)
	}
	var e *idip.Error
	if !asError(err, &e) || e.Status != http.StatusServiceUnavailable {
		t.Fatalf("status of FEATURE_DISABLED: %v", err)
	}
	if _, err := w.cli.Post(ctx, "feature.on", idip.FeatureRequest{Mutation: idip.Mutation{Serial: "on-idip"}, System: "idip"}, nil); err != nil {
		t.Fatalf("feature.on while idip is off: %v", err)
	}
	if got := w.audit(map[string]string{"command": "grant"}); len(got) != 1 || got[0].Code != "FEATURE_DISABLED" {
		t.Fatalf("audit while off: %+v", got)
	}
	if calls, _, _ := w.mail.counts(); calls != 0 {
		t.Fatal("a grant ran while idip was off")
	}
}

func asError(err error, target **idip.Error) bool {
	e, ok := err.(*idip.Error)
	if ok {
		*target = e
	}
	return ok
}

// A switch or setting write answers once every process in the roster
// reports the new version, or after ConvergeWait with the ones that lag.
func TestConfigWritesReportConvergence(t *testing.T) {
	w := newWorld(t, worldOpts{mailDouble: true, cfg: func(c *idip.Config) { c.ConvergeWait = 700 * time.Millisecond }})
	ctx := context.Background()
	member := func(id, version string) directory.Member {
		info := map[string]string{}
		if version != "" {
			info[directory.InfoConfigPrefix+"feature.guild"] = version
		}
		return directory.Member{ID: id, Kind: directory.KindGate, Info: info}
	}
	for _, id := range []string{"gate-1", "gate-2"} {
		if err := w.roster.Announce(ctx, member(id, "")); err != nil {
			t.Fatal(err)
		}
	}
	go func() {
		time.Sleep(100 * time.Millisecond)
		_ = w.roster.Announce(ctx, member("gate-1", "1")) // gate-2 never applies it
	}()
	var sw idip.SwitchResult
	if _, err := w.cli.Post(ctx, "feature.off", idip.FeatureRequest{Mutation: idip.Mutation{Serial: "conv-1"}, System: "guild"}, &sw); err != nil {
		t.Fatal(err)
	}
	c := sw.Convergence
	if c == nil || c.Processes != 2 || len(c.Converged) != 1 || c.Converged[0] != "gate-1" ||
		len(c.Lagging) != 1 || c.Lagging[0].ID != "gate-2" || c.Lagging[0].Version != "" || c.WaitedMs < 600 {
		t.Fatalf("convergence %+v, want gate-1 converged and gate-2 lagging after the wait", c)
	}
	if w.config.value("feature.guild") != (gamemesh.ConfigItem{Value: "off", Version: "1"}) {
		t.Fatalf("the write must stand whether or not every process applied it: %q", w.config.value("feature.guild"))
	}

	// Once both report it, the next write answers as soon as they do.
	go func() {
		time.Sleep(50 * time.Millisecond)
		_ = w.roster.Announce(ctx, member("gate-1", "2"))
		_ = w.roster.Announce(ctx, member("gate-2", "2"))
	}()
	var on idip.SwitchResult
	if _, err := w.cli.Post(ctx, "feature.on", idip.FeatureRequest{Mutation: idip.Mutation{Serial: "conv-2"}, System: "guild"}, &on); err != nil {
		t.Fatal(err)
	}
	if c := on.Convergence; c == nil || len(c.Converged) != 2 || len(c.Lagging) != 0 || c.WaitedMs >= 600 {
		t.Fatalf("convergence %+v, want both converged before the wait ran out", c)
	}
}
