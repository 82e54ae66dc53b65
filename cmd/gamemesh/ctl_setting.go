package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/feature"
)

// checkSettingName refuses an unknown setting before anything is opened.
func checkSettingName(args []string) error {
	_, err := feature.SettingKey(args[0])
	return err
}

// checkSettingValue refuses an unknown setting, or a value of the wrong type
// or out of range, before anything is opened.
func checkSettingValue(args []string) error {
	_, _, err := settingValue(args[0], args[1])
	return err
}

// settingValue returns the config key of setting name and raw in its
// canonical form, or an INVALID_ARGUMENT error.
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

// settingList prints every live setting: the value in the store (the
// default when not set), the table's default, the valid range, the unit and
// the version ("-" when not set).
func settingList(ctx context.Context, st ctlStore, _ []string, out io.Writer) error {
	specs := feature.Specs()
	keys := make([]string, len(specs))
	for i, s := range specs {
		keys[i] = feature.SettingPrefix + s.Name
	}
	items, err := st.Get(ctx, keys)
	if err != nil {
		return fmt.Errorf("reading settings: %w", err)
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVALUE\tDEFAULT\tRANGE\tUNIT\tVERSION")
	for i, s := range specs {
		it, ok := items[keys[i]]
		value, version := settingState(s, it, ok)
		fmt.Fprintf(tw, "%s\t%s\t%s\t[%s, %s]\t%s\t%s\n", s.Name, value, s.Format(s.Default),
			s.Format(s.Min), s.Format(s.Max), unitName(s), version)
	}
	return tw.Flush()
}

// settingGet prints one setting: `name: value (version N)`.
func settingGet(ctx context.Context, st ctlStore, args []string, out io.Writer) error {
	key, err := feature.SettingKey(args[0])
	if err != nil {
		return err
	}
	spec, _ := feature.LookupSpec(args[0])
	items, err := st.Get(ctx, []string{key})
	if err != nil {
		return fmt.Errorf("reading %s: %w", args[0], err)
	}
	it, ok := items[key]
	value, version := settingState(spec, it, ok)
	if unit := unitName(spec); unit != "-" {
		value += " " + unit
	}
	if version == "-" {
		version = "default, not set"
	} else {
		version = "version " + version
	}
	_, err = fmt.Fprintf(out, "%s: %s (%s)\n", spec.Name, value, version)
	return err
}

// settingSet writes a setting after checking its value against the table.
func settingSet(ctx context.Context, st ctlStore, args []string, out io.Writer) error {
	key, value, err := settingValue(args[0], args[1])
	if err != nil {
		return err
	}
	version, err := st.Set(ctx, key, value)
	if err != nil {
		return fmt.Errorf("setting %s: %w", args[0], err)
	}
	if _, err := fmt.Fprintf(out, "%s: %s (version %s)\n", args[0], value, version); err != nil {
		return err
	}
	return afterWrite(ctx, st, key, version, out)
}

// settingState describes the stored item of a setting (ok: present) and its
// version: the default and "-" when it is absent.
func settingState(s feature.Spec, it gamemesh.ConfigItem, ok bool) (value, version string) {
	if !ok {
		return s.Format(s.Default), "-"
	}
	v, err := s.Parse(it.Value)
	if err != nil {
		return fmt.Sprintf("invalid %.40q (ignored)", it.Value), it.Version
	}
	return s.Format(v), it.Version
}

// unitName names the unit of a duration setting ("-" for other kinds).
func unitName(s feature.Spec) string {
	if s.Kind != feature.KindDuration {
		return "-"
	}
	switch s.Unit {
	case time.Millisecond:
		return "ms"
	case time.Second:
		return "s"
	case time.Minute:
		return "min"
	}
	return s.Unit.String()
}
