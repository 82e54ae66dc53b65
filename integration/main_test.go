//go:build integration

package integration

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that every goroutine the adapters, apps and gate started
// is stopped by the end of the run.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
