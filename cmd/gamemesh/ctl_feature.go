package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/gamemesh/gamemesh/feature"
)

// checkSystem refuses an invalid system id before anything is opened.
func checkSystem(args []string) error {
	_, err := feature.SwitchKey(args[0])
	return err
}

// featureList prints every known system (the built-in ones and any with a
// switch in the store): its state and the version of its switch ("-" when
// the switch is not set: the system is on).
func featureList(ctx context.Context, st ctlStore, _ []string, out io.Writer) error {
	items, err := st.Prefixed(ctx, feature.SwitchPrefix)
	if err != nil {
		return fmt.Errorf("reading feature switches: %w", err)
	}
	ids := feature.DefaultSystems()
	for k := range items {
		if id := strings.TrimPrefix(k, feature.SwitchPrefix); !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SYSTEM\tSTATE\tVERSION")
	for _, id := range ids {
		state, version := feature.On, "-"
		if it, ok := items[feature.SwitchPrefix+id]; ok {
			version = it.Version
			switch on, err := feature.ParseSwitch(it.Value); {
			case err != nil:
				state = fmt.Sprintf("invalid %.40q (ignored)", it.Value)
			case !on:
				state = feature.Off
			}
		}
		if !feature.ValidSystem(id) {
			state += " (invalid system id)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", id, state, version)
	}
	return tw.Flush()
}

// featureSwitch returns the action that switches a system on or off.
func featureSwitch(on bool) func(ctx context.Context, st ctlStore, args []string, out io.Writer) error {
	value := feature.Off
	if on {
		value = feature.On
	}
	return func(ctx context.Context, st ctlStore, args []string, out io.Writer) error {
		id := args[0]
		key, err := feature.SwitchKey(id)
		if err != nil {
			return err
		}
		version, err := st.Set(ctx, key, value)
		if err != nil {
			return fmt.Errorf("switching %s %s: %w", id, value, err)
		}
		if _, err := fmt.Fprintf(out, "%s: %s (version %s)\n", id, value, version); err != nil {
			return err
		}
		return afterWrite(ctx, st, key, version, out)
	}
}
