package featuretest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Flip sets the switch under test on or off (for example by writing the
// config key, or running "gamemesh ctl feature off ID").
type Flip func(ctx context.Context, on bool) error

// Probe reports whether the switch is seen as on where it is enforced (for
// example: a call through the gate succeeds, rather than answering
// FEATURE_DISABLED). An error ends the measurement.
type Probe func(ctx context.Context) (on bool, err error)

// Options tune MeasurePropagation.
type Options struct {
	// Flips is how many times the switch is flipped, alternating off and on,
	// starting with off (default 100).
	Flips int
	// Timeout bounds the wait for one flip to be seen (default 5 s); a flip
	// not seen in time is an error: the propagation is broken.
	Timeout time.Duration
	// Poll is the pause between probes (default 0: probe back to back).
	Poll time.Duration
}

// Result holds the propagation time of every flip and its percentiles.
type Result struct {
	Samples       []time.Duration // in flip order
	P50, P99, Max time.Duration
}

// String formats the percentiles for a log line.
func (r Result) String() string {
	return fmt.Sprintf("%d flips: p50 %v, p99 %v, max %v", len(r.Samples), r.P50, r.P99, r.Max)
}

// MeasurePropagation flips the switch opts.Flips times and, after each flip,
// probes until the new state is seen. A sample runs from just before flip is
// called (the write is part of the propagation) to the first probe that sees
// the new state. The switch must be on when it starts; it is left on when
// the number of flips is even.
func MeasurePropagation(ctx context.Context, flip Flip, probe Probe, opts Options) (Result, error) {
	if flip == nil || probe == nil {
		return Result{}, errors.New("featuretest: flip and probe are required")
	}
	if opts.Flips <= 0 {
		opts.Flips = 100
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if on, err := probe(ctx); err != nil {
		return Result{}, fmt.Errorf("featuretest: first probe: %w", err)
	} else if !on {
		return Result{}, errors.New("featuretest: the switch must be on at the start")
	}
	res := Result{Samples: make([]time.Duration, 0, opts.Flips)}
	for i := range opts.Flips {
		want := i%2 == 1 // off first
		d, err := measureOne(ctx, flip, probe, want, opts)
		if err != nil {
			return res, fmt.Errorf("featuretest: flip %d (to %s): %w", i+1, state(want), err)
		}
		res.Samples = append(res.Samples, d)
	}
	sorted := slices.Clone(res.Samples)
	slices.Sort(sorted)
	res.P50, res.P99, res.Max = Percentile(sorted, 50), Percentile(sorted, 99), sorted[len(sorted)-1]
	return res, nil
}

func measureOne(ctx context.Context, flip Flip, probe Probe, want bool, opts Options) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	start := time.Now()
	if err := flip(ctx, want); err != nil {
		return 0, fmt.Errorf("flip: %w", err)
	}
	for {
		on, err := probe(ctx)
		if err != nil {
			return 0, fmt.Errorf("probe: %w", err)
		}
		if on == want {
			return time.Since(start), nil
		}
		if opts.Poll > 0 {
			t := time.NewTimer(opts.Poll)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
			}
		}
		if ctx.Err() != nil {
			return 0, fmt.Errorf("not seen within %v", opts.Timeout)
		}
	}
}

// Percentile returns the p-th percentile (nearest rank) of sorted samples,
// 0 when there are none.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(float64(len(sorted))*p/100)) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

func state(on bool) string {
	if on {
		return "on"
	}
	return "off"
}
