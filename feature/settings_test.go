package feature_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/feature"
)

func TestTable(t *testing.T) {
	specs := feature.Specs()
	names := map[string]bool{}
	for _, s := range specs {
		if s.Name == "" || s.Doc == "" || names[s.Name] {
			t.Errorf("spec %+v: empty or duplicate", s)
		}
		names[s.Name] = true
		if !(s.Min <= s.Default && s.Default <= s.Max) {
			t.Errorf("%s: default %v outside [%v, %v]", s.Name, s.Default, s.Min, s.Max)
		}
		if _, err := s.Parse(s.Format(s.Default)); err != nil {
			t.Errorf("%s: default does not round-trip: %v", s.Name, err)
		}
		if (s.Kind == feature.KindDuration) != (s.Unit > 0) {
			t.Errorf("%s: unit %v for kind %v", s.Name, s.Unit, s.Kind)
		}
		if got, ok := feature.LookupSpec(s.Name); !ok || got.Name != s.Name {
			t.Errorf("LookupSpec(%s) = %+v, %v", s.Name, got, ok)
		}
		if k, err := feature.SettingKey(s.Name); err != nil || k != "setting."+s.Name {
			t.Errorf("SettingKey(%s) = %q, %v", s.Name, k, err)
		}
	}
	for _, want := range []string{"gate.max_online", "gate.queue_cap", "gate.admission_rate", "gate.rate_limit",
		"gate.rate_burst", "lua.pool_size", "lua.call_deadline_ms", "lua.cpu_budget_ms", "scene.flush_interval_s"} {
		if !names[want] {
			t.Errorf("setting %s not declared", want)
		}
	}
	// Each typed constant names a setting of its kind.
	kinds := map[string]feature.Kind{}
	for _, s := range specs {
		kinds[s.Name] = s.Kind
	}
	for name, k := range map[string]feature.Kind{
		spec(feature.GateMaxOnline): feature.KindInt, spec(feature.GateQueueCap): feature.KindInt,
		spec(feature.GateRateBurst): feature.KindInt, spec(feature.LuaPoolSize): feature.KindInt,
		spec(feature.GateAdmissionRate): feature.KindFloat, spec(feature.GateRateLimit): feature.KindFloat,
		spec(feature.LuaCallDeadline): feature.KindDuration, spec(feature.LuaCPUBudget): feature.KindDuration,
		spec(feature.SceneFlushInterval): feature.KindDuration,
	} {
		if kinds[name] != k {
			t.Errorf("%s is %v, its constant's type says %v", name, kinds[name], k)
		}
	}
}

// spec returns the name of the setting a typed constant indexes.
func spec[T feature.IntSetting | feature.FloatSetting | feature.DurationSetting](k T) string {
	return feature.Specs()[int(k)].Name
}

func TestParseRefusesBadValues(t *testing.T) {
	cases := []struct {
		name, value, want string
	}{
		{"gate.max_online", "abc", "not a whole number"},
		{"gate.max_online", "1.5", "not a whole number"},
		{"gate.max_online", "", "not a whole number"},
		{"gate.max_online", "-1", "out of range"},
		{"gate.max_online", "1000001", "out of range"},
		{"gate.rate_limit", "NaN", "not a finite number"},
		{"gate.rate_limit", "+Inf", "not a finite number"},
		{"gate.rate_limit", "0", "out of range"},
		{"gate.rate_limit", "fast", "not a finite number"},
		{"lua.call_deadline_ms", "50ms", "not a whole number"},
		{"lua.call_deadline_ms", "0", "out of range"},
		{"scene.flush_interval_s", "3601", "out of range"},
	}
	for _, c := range cases {
		s, ok := feature.LookupSpec(c.name)
		if !ok {
			t.Fatalf("no spec %s", c.name)
		}
		_, err := s.Parse(c.value)
		if gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument || !strings.Contains(gamemesh.MessageOf(err), c.want) ||
			!strings.Contains(gamemesh.MessageOf(err), c.name) {
			t.Errorf("%s = %q: %v, want INVALID_ARGUMENT saying %q", c.name, c.value, err, c.want)
		}
	}
	s, _ := feature.LookupSpec("gate.rate_limit")
	if v, err := s.Parse(" 12.5 "); err != nil || v != 12.5 {
		t.Errorf("12.5: %v, %v", v, err)
	}
	if _, ok := feature.LookupSpec("gate.nope"); ok {
		t.Error("unknown setting found")
	}
	if _, err := feature.SettingKey("gate.nope"); gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument ||
		!strings.Contains(gamemesh.MessageOf(err), "gate.max_online") {
		t.Errorf("unknown setting key: %v", err)
	}
}

func TestSwitchKeysAndValues(t *testing.T) {
	for _, id := range []string{"mail", "guild", "lua_quest", "Quest2", "x"} {
		if k, err := feature.SwitchKey(id); err != nil || k != "feature."+id {
			t.Errorf("SwitchKey(%q) = %q, %v", id, k, err)
		}
	}
	for _, id := range []string{"", "a.b", "a b", "mail!", strings.Repeat("a", 33), "é"} {
		if _, err := feature.SwitchKey(id); gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
			t.Errorf("SwitchKey(%q): %v, want INVALID_ARGUMENT", id, err)
		}
	}
	for v, want := range map[string]bool{"on": true, "off": false, " OFF ": false, "On": true} {
		if got, err := feature.ParseSwitch(v); err != nil || got != want {
			t.Errorf("ParseSwitch(%q) = %v, %v", v, got, err)
		}
	}
	for _, v := range []string{"", "maybe", "true", "0", "o n"} {
		if _, err := feature.ParseSwitch(v); gamemesh.CodeOf(err) != gamemesh.CodeInvalidArgument {
			t.Errorf("ParseSwitch(%q): %v, want INVALID_ARGUMENT", v, err)
		}
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	src := newFakeSource()
	cases := []struct {
		name string
		cfg  feature.Config
		deps feature.Deps
		want string
	}{
		{"no source", feature.Config{}, feature.Deps{}, "Source is required"},
		{"bad system", feature.Config{Systems: []string{"a.b"}}, feature.Deps{Source: src}, "system id"},
		{"unknown default", feature.Config{Defaults: map[string]string{"gate.nope": "1"}}, feature.Deps{Source: src}, "unknown setting"},
		{"bad default", feature.Config{Defaults: map[string]string{"gate.max_online": "-5"}}, feature.Deps{Source: src}, "out of range"},
		{"negative reconcile", feature.Config{Reconcile: -time.Second}, feature.Deps{Source: src}, "Reconcile"},
		{"backoffs", feature.Config{MinBackoff: time.Second, MaxBackoff: time.Millisecond}, feature.Deps{Source: src}, "MaxBackoff"},
	}
	for _, c := range cases {
		_, err := feature.New(c.cfg, c.deps)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.want)
		}
	}
}
