// Package featuretest measures how long a feature switch takes to reach the
// place that enforces it (typically: from writing "feature.<id>" to the
// gate answering FEATURE_DISABLED), in any mode: the caller supplies how to
// flip the switch and how to probe its effect. It is meant for tests and
// benchmarks; it starts no goroutines.
package featuretest
