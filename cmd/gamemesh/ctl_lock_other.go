//go:build !unix

package main

import (
	"context"
	"time"
)

// lockFile does nothing where flock is missing: concurrent ctl writers on one
// data directory are then not serialized.
func lockFile(ctx context.Context, _ string, _ time.Duration) (unlock func(), err error) {
	return func() {}, ctx.Err()
}
