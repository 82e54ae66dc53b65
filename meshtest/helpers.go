package meshtest

import (
	"context"
	"testing"
	"time"

	"github.com/gamemesh/gamemesh"
)

// waitTimeout bounds every wait for something asynchronous (a delivery, a
// config notification): far above what any backend needs, far below a CI
// timeout.
const waitTimeout = 10 * time.Second

// prefix returns a fresh name prefix for one subtest's keys or topics.
func prefix() string { return "meshtest-" + gamemesh.NewID() }

// testContext returns a context bounded by waitTimeout and cancelled when the
// test ends.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*waitTimeout)
	t.Cleanup(cancel)
	return ctx
}
