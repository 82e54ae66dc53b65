package feature_test

import (
	"sync"
	"testing"

	"github.com/gamemesh/gamemesh/feature"
)

// BenchmarkEnabled measures the gate's per-request check against the
// obvious alternative, a map behind a sync.RWMutex (the baseline).
func BenchmarkEnabled(b *testing.B) {
	src := newFakeSource()
	f, err := feature.New(feature.Config{}, feature.Deps{Source: src})
	if err != nil {
		b.Fatal(err)
	}
	// A few systems switched off (read at Start), so the map is not empty.
	src.setQuietly("feature.guild", "off", "1")
	src.setQuietly("feature.pvp", "off", "1")
	if err := f.Start(b.Context()); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = f.Stop(b.Context()) }()
	if f.Enabled("guild") {
		b.Fatal("guild should be off")
	}

	var mu sync.RWMutex
	off := map[string]bool{"guild": true, "pvp": true}
	locked := func(s string) bool {
		mu.RLock()
		defer mu.RUnlock()
		return !off[s]
	}

	b.Run("flags", func(b *testing.B) {
		for b.Loop() {
			if !f.Enabled("mail") {
				b.Fatal("mail off")
			}
		}
	})
	b.Run("rwmutex-map-baseline", func(b *testing.B) {
		for b.Loop() {
			if !locked("mail") {
				b.Fatal("mail off")
			}
		}
	})
	b.Run("flags-parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if !f.Enabled("mail") {
					b.Error("mail off")
					return
				}
			}
		})
	})
	b.Run("rwmutex-map-baseline-parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if !locked("mail") {
					b.Error("mail off")
					return
				}
			}
		})
	})
}
