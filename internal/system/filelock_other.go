//go:build !unix

package system

import (
	"context"
	"time"
)

// LockFile does nothing where flock is missing: concurrent writers on one
// data directory are then not serialized.
func LockFile(ctx context.Context, _ string, _ time.Duration) (unlock func(), err error) {
	return func() {}, ctx.Err()
}
