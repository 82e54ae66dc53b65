package feature

import (
	"maps"
	"time"
)

// Snapshot is one immutable view of every switch and setting. Its methods
// are safe for concurrent use and take no lock.
type Snapshot struct {
	gen      uint64
	systems  []string            // watched system ids, sorted
	disabled map[string]struct{} // switched-off systems
	values   [numSettings]float64
	versions map[string]string // config key → version of the value in force
}

// Generation counts the changes this process applied; it grows by one with
// every new snapshot.
func (s *Snapshot) Generation() uint64 { return s.gen }

// Enabled reports whether system is switched on. A system whose switch is
// absent, or that is not watched, is on.
func (s *Snapshot) Enabled(system string) bool {
	_, off := s.disabled[system]
	return !off
}

// Int returns the value of an integer setting.
func (s *Snapshot) Int(k IntSetting) int { return int(s.values[k]) }

// Float returns the value of a decimal setting.
func (s *Snapshot) Float(k FloatSetting) float64 { return s.values[k] }

// Duration returns the value of a duration setting.
func (s *Snapshot) Duration(k DurationSetting) time.Duration {
	return time.Duration(s.values[k] * float64(table[k].Unit))
}

// Switches returns every watched system and whether it is on.
func (s *Snapshot) Switches() map[string]bool {
	out := make(map[string]bool, len(s.systems))
	for _, id := range s.systems {
		out[id] = s.Enabled(id)
	}
	return out
}

// Settings returns every setting's value in force, formatted as a config
// value, by name.
func (s *Snapshot) Settings() map[string]string {
	out := make(map[string]string, numSettings)
	for i := range table {
		out[table[i].Name] = table[i].Format(s.values[i])
	}
	return out
}

// Version returns the version of the value in force for a config key ("" while
// the key is absent and the default applies, or never had a valid value).
func (s *Snapshot) Version(key string) string { return s.versions[key] }

// Versions returns the version in force of every key that has one.
func (s *Snapshot) Versions() map[string]string { return maps.Clone(s.versions) }
