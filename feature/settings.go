package feature

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gamemesh/gamemesh"
)

// SettingPrefix starts the config key of every live setting: "setting.<name>".
const SettingPrefix = "setting."

// Kind is the type of a setting's value.
type Kind int

// The kinds of setting.
const (
	// KindInt is a whole number.
	KindInt Kind = iota + 1
	// KindFloat is a finite decimal number.
	KindFloat
	// KindDuration is a whole number of Spec.Unit (the name ends in _ms or _s).
	KindDuration
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case KindInt:
		return "int"
	case KindFloat:
		return "float"
	case KindDuration:
		return "duration"
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// IntSetting names a KindInt setting of the table.
type IntSetting int

// FloatSetting names a KindFloat setting of the table.
type FloatSetting int

// DurationSetting names a KindDuration setting of the table.
type DurationSetting int

// The live settings. Each constant indexes the table below; its type says
// which Snapshot accessor reads it.
const (
	// GateMaxOnline is how many players a gate admits at once.
	GateMaxOnline IntSetting = 0
	// GateQueueCap is how many logins may wait in a gate's queue.
	GateQueueCap IntSetting = 1
	// GateAdmissionRate is how many queued logins a gate admits per second.
	GateAdmissionRate FloatSetting = 2
	// GateRateLimit is the sustained requests per second per connection.
	GateRateLimit FloatSetting = 3
	// GateRateBurst is the burst of requests per connection.
	GateRateBurst IntSetting = 4
	// LuaPoolSize is how many Lua workers a process runs.
	LuaPoolSize IntSetting = 5
	// LuaCallDeadline is the wall-clock deadline of one Lua call.
	LuaCallDeadline DurationSetting = 6
	// LuaCPUBudget is the CPU time one Lua call may use.
	LuaCPUBudget DurationSetting = 7
	// SceneFlushInterval is the longest a dirty player record waits before
	// the scene host writes it behind.
	SceneFlushInterval DurationSetting = 8
)

// Spec declares one live setting.
type Spec struct {
	// Name is the setting's name, e.g. "gate.max_online"; its config key is
	// SettingPrefix + Name.
	Name string
	// Kind is the type of the value.
	Kind Kind
	// Unit is the unit of a KindDuration value (zero for other kinds).
	Unit time.Duration
	// Default is the value used while the key is absent (before any
	// Config.Defaults override), Min and Max the valid range, inclusive.
	Default, Min, Max float64
	// Doc says what the setting does.
	Doc string
}

// table declares every live setting, indexed by the constants above (a
// duplicate index does not compile).
var table = [...]Spec{
	GateMaxOnline: {Name: "gate.max_online", Kind: KindInt, Default: 10_000, Min: 0, Max: 1_000_000,
		Doc: "players a gate admits at once; the others queue (0 closes admission)"},
	GateQueueCap: {Name: "gate.queue_cap", Kind: KindInt, Default: 5_000, Min: 0, Max: 1_000_000,
		Doc: "logins that may wait in a gate's queue; beyond it SERVER_FULL"},
	GateAdmissionRate: {Name: "gate.admission_rate", Kind: KindFloat, Default: 200, Min: 1, Max: 100_000,
		Doc: "queued logins a gate admits per second"},
	GateRateLimit: {Name: "gate.rate_limit", Kind: KindFloat, Default: 50, Min: 0.1, Max: 100_000,
		Doc: "sustained requests per second per connection"},
	GateRateBurst: {Name: "gate.rate_burst", Kind: KindInt, Default: 100, Min: 1, Max: 100_000,
		Doc: "request burst per connection"},
	LuaPoolSize: {Name: "lua.pool_size", Kind: KindInt, Default: 2, Min: 1, Max: 256,
		Doc: "Lua workers (locked OS threads) per process"},
	LuaCallDeadline: {Name: "lua.call_deadline_ms", Kind: KindDuration, Unit: time.Millisecond, Default: 250, Min: 1, Max: 10_000,
		Doc: "wall-clock deadline of one Lua call, in milliseconds"},
	LuaCPUBudget: {Name: "lua.cpu_budget_ms", Kind: KindDuration, Unit: time.Millisecond, Default: 50, Min: 1, Max: 10_000,
		Doc: "CPU time one Lua call may use, in milliseconds"},
	SceneFlushInterval: {Name: "scene.flush_interval_s", Kind: KindDuration, Unit: time.Second, Default: 30, Min: 1, Max: 3_600,
		Doc: "longest wait before a dirty player record is written behind, in seconds"},
}

// numSettings is the size of the table.
const numSettings = len(table)

// Specs returns the declared settings, in table order.
func Specs() []Spec { return append([]Spec(nil), table[:]...) }

// LookupSpec returns the setting named name.
func LookupSpec(name string) (Spec, bool) {
	if i := specIndex(name); i >= 0 {
		return table[i], true
	}
	return Spec{}, false
}

func specIndex(name string) int {
	for i := range table {
		if table[i].Name == name {
			return i
		}
	}
	return -1
}

// SettingKey returns the config key of the setting named name, or an
// INVALID_ARGUMENT error naming the known settings.
func SettingKey(name string) (string, error) {
	if specIndex(name) < 0 {
		names := make([]string, len(table))
		for i := range table {
			names[i] = table[i].Name
		}
		return "", gamemesh.Errorf(gamemesh.CodeInvalidArgument, "unknown setting %.40q: known settings are %s", name, strings.Join(names, ", "))
	}
	return SettingPrefix + name, nil
}

// Parse checks a raw value against the spec and returns it as a number (a
// duration in Unit). A value of the wrong type or out of range is an
// INVALID_ARGUMENT error that says what is expected.
func (s Spec) Parse(raw string) (float64, error) {
	v := strings.TrimSpace(raw)
	var x float64
	switch s.Kind {
	case KindInt, KindDuration:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "%s: %.40q is not a whole number", s.Name, raw)
		}
		x = float64(n)
	case KindFloat:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "%s: %.40q is not a finite number", s.Name, raw)
		}
		x = f
	default:
		return 0, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "%s: unknown kind %v", s.Name, s.Kind)
	}
	if x < s.Min || x > s.Max {
		return 0, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "%s: %s out of range [%s, %s]", s.Name, s.Format(x), s.Format(s.Min), s.Format(s.Max))
	}
	return x, nil
}

// Format writes v as a config value of this setting (the inverse of Parse).
func (s Spec) Format(v float64) string {
	if s.Kind == KindFloat {
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strconv.FormatInt(int64(v), 10)
}
