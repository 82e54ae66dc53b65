package idip

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/feature"
)

// FeatureQuery is the request of "feature" (GET /v1/feature): every known
// system's switch.
type FeatureQuery struct{ read }

func (*FeatureQuery) validate(*App) error { return nil }
func (*FeatureQuery) target() string      { return "" }
func (*FeatureQuery) auditArgs() any      { return nil }

// FeatureState is one system's switch.
type FeatureState struct {
	System string `json:"system"`
	// State is "on" or "off" as the processes apply it (an invalid stored
	// value is ignored: the system stays on).
	State string `json:"state"`
	// Value and Version are what the store holds; Version is "" when the
	// switch was never set (the system is on).
	Value   string `json:"value,omitempty"`
	Version string `json:"version,omitempty"`
	// Invalid says why a stored value or a system id is ignored.
	Invalid string `json:"invalid,omitempty"`
}

// FeatureRequest is the request of "feature.on" and "feature.off".
type FeatureRequest struct {
	Mutation
	System string `json:"system"`
}

func (r *FeatureRequest) validate(*App) error {
	_, err := feature.SwitchKey(r.System)
	return err
}
func (r *FeatureRequest) target() string { return "" }
func (r *FeatureRequest) auditArgs() any { return r }

// SwitchResult answers "feature.on" and "feature.off".
type SwitchResult struct {
	System  string `json:"system"`
	State   string `json:"state"`
	Version string `json:"version"`
	// Convergence says which processes applied it before the answer.
	Convergence *Convergence `json:"convergence,omitempty"`
}

func (a *App) featureList(ctx context.Context, _ *call, _ *FeatureQuery) (any, error) {
	items, err := a.deps.Config.Prefixed(ctx, feature.SwitchPrefix)
	if err != nil {
		return nil, configError(err, "reading feature switches")
	}
	ids := feature.DefaultSystems()
	for k := range items {
		if id := strings.TrimPrefix(k, feature.SwitchPrefix); !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	out := make([]FeatureState, 0, len(ids))
	for _, id := range ids {
		s := FeatureState{System: id, State: feature.On}
		if it, ok := items[feature.SwitchPrefix+id]; ok {
			s.Value, s.Version = it.Value, it.Version
			switch on, err := feature.ParseSwitch(it.Value); {
			case err != nil:
				s.Invalid = gamemesh.MessageOf(err) + " (ignored)"
			case !on:
				s.State = feature.Off
			}
		}
		if !feature.ValidSystem(id) {
			s.Invalid = "invalid system id (ignored)"
		}
		out = append(out, s)
	}
	return out, nil
}

func (a *App) featureSwitch(on bool) func(ctx context.Context, c *call, r *FeatureRequest) (any, error) {
	value := feature.Off
	if on {
		value = feature.On
	}
	return func(ctx context.Context, c *call, r *FeatureRequest) (any, error) {
		key, _ := feature.SwitchKey(r.System)
		version, err := a.deps.Config.Set(ctx, key, value)
		if err != nil {
			return nil, configError(err, "writing "+key)
		}
		c.summary = fmt.Sprintf("%s %s (version %s)", r.System, value, version)
		return &SwitchResult{System: r.System, State: value, Version: version, Convergence: a.converge(ctx, key, version)}, nil
	}
}

// SettingsQuery is the request of "setting" (GET /v1/setting): every live
// setting.
type SettingsQuery struct{ read }

func (*SettingsQuery) validate(*App) error { return nil }
func (*SettingsQuery) target() string      { return "" }
func (*SettingsQuery) auditArgs() any      { return nil }

// SettingQuery is the request of "setting.get" (GET
// /v1/setting/get?name=...): one live setting.
type SettingQuery struct {
	read
	Name string `json:"name"`
}

func (q *SettingQuery) fromQuery(v url.Values) error { q.Name = v.Get("name"); return nil }
func (q *SettingQuery) validate(*App) error {
	_, err := feature.SettingKey(q.Name)
	return err
}
func (q *SettingQuery) target() string { return "" }
func (q *SettingQuery) auditArgs() any { return q }

// SettingState is one live setting.
type SettingState struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Value is what the processes apply: the stored value, or the default
	// while it is not set (or invalid).
	Value   string `json:"value"`
	Default string `json:"default"`
	Min     string `json:"min"`
	Max     string `json:"max"`
	// Unit is "ms", "s" or "min" for durations, "" otherwise.
	Unit string `json:"unit,omitempty"`
	// Stored and Version are what the store holds; Version is "" when the
	// setting was never set.
	Stored  string `json:"stored,omitempty"`
	Version string `json:"version,omitempty"`
	Invalid string `json:"invalid,omitempty"`
	Doc     string `json:"doc"`
}

// Value is a setting's new value: a JSON string or number.
type Value string

// UnmarshalJSON accepts "20000" and 20000 alike.
func (v *Value) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*v = Value(s)
		return nil
	}
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&n); err != nil {
		return fmt.Errorf("value must be a string or a number")
	}
	*v = Value(n.String())
	return nil
}

// SettingRequest is the request of "setting.set".
type SettingRequest struct {
	Mutation
	Name  string `json:"name"`
	Value Value  `json:"value"`
}

func (r *SettingRequest) validate(*App) error {
	_, _, err := settingValue(r.Name, string(r.Value))
	return err
}
func (r *SettingRequest) target() string { return "" }
func (r *SettingRequest) auditArgs() any { return r }

// SettingResult answers "setting.set".
type SettingResult struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	Version string `json:"version"`
	// Convergence says which processes applied it before the answer.
	Convergence *Convergence `json:"convergence,omitempty"`
}

// settingValue returns the key of setting name and raw in canonical form.
func settingValue(name, raw string) (key, value string, err error) {
	if key, err = feature.SettingKey(name); err != nil {
		return "", "", err
	}
	spec, _ := feature.LookupSpec(name)
	v, err := spec.Parse(raw)
	if err != nil {
		return "", "", err
	}
	return key, spec.Format(v), nil
}

func (a *App) settingList(ctx context.Context, _ *call, _ *SettingsQuery) (any, error) {
	return a.settings(ctx, feature.Specs())
}

func (a *App) settingGet(ctx context.Context, _ *call, q *SettingQuery) (any, error) {
	s, _ := feature.LookupSpec(q.Name)
	out, err := a.settings(ctx, []feature.Spec{s})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

func (a *App) settings(ctx context.Context, specs []feature.Spec) ([]SettingState, error) {
	keys := make([]string, len(specs))
	for i, s := range specs {
		keys[i] = feature.SettingPrefix + s.Name
	}
	items, err := a.deps.Config.Get(ctx, keys)
	if err != nil {
		return nil, configError(err, "reading settings")
	}
	out := make([]SettingState, len(specs))
	for i, s := range specs {
		st := SettingState{Name: s.Name, Kind: s.Kind.String(), Value: s.Format(s.Default), Default: s.Format(s.Default),
			Min: s.Format(s.Min), Max: s.Format(s.Max), Unit: unitName(s), Doc: s.Doc}
		if it, ok := items[keys[i]]; ok {
			st.Stored, st.Version = it.Value, it.Version
			if v, err := s.Parse(it.Value); err != nil {
				st.Invalid = gamemesh.MessageOf(err) + " (ignored)"
			} else {
				st.Value = s.Format(v)
			}
		}
		out[i] = st
	}
	return out, nil
}

func (a *App) settingSet(ctx context.Context, c *call, r *SettingRequest) (any, error) {
	key, value, _ := settingValue(r.Name, string(r.Value))
	version, err := a.deps.Config.Set(ctx, key, value)
	if err != nil {
		return nil, configError(err, "writing "+key)
	}
	c.summary = fmt.Sprintf("%s = %s (version %s)", r.Name, value, version)
	return &SettingResult{Name: r.Name, Value: value, Version: version, Convergence: a.converge(ctx, key, version)}, nil
}

func unitName(s feature.Spec) string {
	if s.Kind != feature.KindDuration {
		return ""
	}
	switch s.Unit.String() {
	case "1ms":
		return "ms"
	case "1s":
		return "s"
	case "1m0s":
		return "min"
	}
	return s.Unit.String()
}

// configError keeps a refusal's code (INVALID_ARGUMENT) and makes anything
// else UNAVAILABLE.
func configError(err error, what string) error {
	if code := gamemesh.CodeOf(err); code == gamemesh.CodeInvalidArgument || code == gamemesh.CodeUnavailable {
		return gamemesh.Wrap(code, err, what+": "+gamemesh.MessageOf(err))
	}
	return gamemesh.Wrap(gamemesh.CodeUnavailable, err, what+" failed")
}
