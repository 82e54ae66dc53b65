package scenehost

import (
	"math"
	rtmetrics "runtime/metrics"
	"time"
)

// GCSample is a reading of the Go runtime's GC counters (runtime/metrics);
// the difference of two readings says what the GC cost in between.
type GCSample struct {
	at      time.Time
	pauses  *rtmetrics.Float64Histogram
	gcCPU   float64
	allCPU  float64
	cycles  uint64
	heapObj uint64
}

var gcNames = []string{"/sched/pauses/total/gc:seconds", "/cpu/classes/gc/total:cpu-seconds", "/cpu/classes/total:cpu-seconds",
	"/gc/cycles/total:gc-cycles", "/gc/heap/objects:objects"}

// ReadGC reads the GC counters now.
func ReadGC() GCSample {
	s := make([]rtmetrics.Sample, len(gcNames))
	for i, n := range gcNames {
		s[i].Name = n
	}
	rtmetrics.Read(s)
	out := GCSample{at: time.Now()}
	if s[0].Value.Kind() == rtmetrics.KindFloat64Histogram {
		h := s[0].Value.Float64Histogram()
		out.pauses = &rtmetrics.Float64Histogram{Counts: append([]uint64(nil), h.Counts...), Buckets: h.Buckets}
	}
	if s[1].Value.Kind() == rtmetrics.KindFloat64 {
		out.gcCPU = s[1].Value.Float64()
	}
	if s[2].Value.Kind() == rtmetrics.KindFloat64 {
		out.allCPU = s[2].Value.Float64()
	}
	if s[3].Value.Kind() == rtmetrics.KindUint64 {
		out.cycles = s[3].Value.Uint64()
	}
	if s[4].Value.Kind() == rtmetrics.KindUint64 {
		out.heapObj = s[4].Value.Uint64()
	}
	return out
}

// GCStats is what the GC cost between two samples.
type GCStats struct {
	Cycles uint64
	// PauseP99 and PauseMax are the stop-the-world pauses (upper bucket
	// bounds of the runtime's histogram: an upper estimate).
	PauseP99, PauseMax time.Duration
	// CPUShare is the GC's share of the process's CPU time (the runtime's
	// estimate, including assists and idle marking).
	CPUShare float64
}

// Since returns the GC cost from prev to s.
func (s GCSample) Since(prev GCSample) GCStats {
	st := GCStats{Cycles: s.cycles - prev.cycles}
	if cpu := s.allCPU - prev.allCPU; cpu > 0 {
		st.CPUShare = (s.gcCPU - prev.gcCPU) / cpu
	}
	if s.pauses == nil || prev.pauses == nil || len(s.pauses.Counts) != len(prev.pauses.Counts) {
		return st
	}
	counts := make([]uint64, len(s.pauses.Counts))
	var total uint64
	for i := range counts {
		counts[i] = s.pauses.Counts[i] - prev.pauses.Counts[i]
		total += counts[i]
	}
	if total == 0 {
		return st
	}
	upper := func(i int) time.Duration {
		b := s.pauses.Buckets[i+1]
		if math.IsInf(b, 1) {
			b = s.pauses.Buckets[i]
		}
		return time.Duration(b * float64(time.Second))
	}
	var seen uint64
	for i, c := range counts {
		if c == 0 {
			continue
		}
		seen += c
		if st.PauseP99 == 0 && seen*100 >= total*99 {
			st.PauseP99 = upper(i)
		}
		st.PauseMax = upper(i)
	}
	return st
}

// gcEvery is how often a host logs what the GC cost.
const gcEvery = time.Minute

// gcLoop logs the process's GC pauses and CPU share every gcEvery (for a
// scene host alone in its process, as `gamemesh scene` runs, they are the
// host's).
func (h *Host) gcLoop() {
	t := time.NewTicker(gcEvery)
	defer t.Stop()
	prev := ReadGC()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-t.C:
		}
		cur := ReadGC()
		st := cur.Since(prev)
		prev = cur
		h.log.Info("gc", "cycles", st.Cycles, "pause_p99", st.PauseP99, "pause_max", st.PauseMax,
			"gc_cpu_share", float64(int(st.CPUShare*10000))/10000, "players", h.Load())
	}
}
