package featuretest

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var s []time.Duration
	for i := 1; i <= 100; i++ {
		s = append(s, time.Duration(i))
	}
	for p, want := range map[float64]time.Duration{50: 50, 99: 99, 100: 100, 0: 1, 1: 1} {
		if got := Percentile(s, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if Percentile(nil, 50) != 0 {
		t.Error("percentile of nothing")
	}
}

func TestMeasurePropagation(t *testing.T) {
	var state atomic.Bool
	state.Store(true)
	var probes atomic.Int64
	flip := func(_ context.Context, on bool) error { state.Store(on); return nil }
	// The probe sees a flip on its third look.
	var seen atomic.Bool
	seen.Store(true)
	var lag atomic.Int64
	probe := func(context.Context) (bool, error) {
		probes.Add(1)
		if state.Load() != seen.Load() && lag.Add(1) >= 3 {
			seen.Store(state.Load())
			lag.Store(0)
		}
		return seen.Load(), nil
	}
	res, err := MeasurePropagation(context.Background(), flip, probe, Options{Flips: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Samples) != 10 || res.P50 <= 0 || res.P99 < res.P50 || res.Max < res.P99 {
		t.Fatalf("result %+v", res)
	}
	if !state.Load() {
		t.Fatal("an even number of flips must leave the switch on")
	}
	if n := probes.Load(); n != 1+10*3 {
		t.Fatalf("%d probes, want 31", n)
	}
}

func TestMeasurePropagationBroken(t *testing.T) {
	on := func(context.Context) (bool, error) { return true, nil }
	flip := func(context.Context, bool) error { return nil }
	_, err := MeasurePropagation(context.Background(), flip, on, Options{Flips: 2, Timeout: 50 * time.Millisecond, Poll: time.Millisecond})
	if err == nil {
		t.Fatal("a flip that is never seen must fail")
	}
	off := func(context.Context) (bool, error) { return false, nil }
	if _, err := MeasurePropagation(context.Background(), flip, off, Options{}); err == nil {
		t.Fatal("starting switched off must fail")
	}
	boom := errors.New("boom")
	failing := func(context.Context, bool) error { return boom }
	if _, err := MeasurePropagation(context.Background(), failing, on, Options{}); !errors.Is(err, boom) {
		t.Fatalf("flip error: %v", err)
	}
	if _, err := MeasurePropagation(context.Background(), nil, on, Options{}); err == nil {
		t.Fatal("nil flip accepted")
	}
}
