package system

import (
	"context"
	"errors"
	"fmt"
)

// jobs are the background tasks of the apps a process serves (the mail
// sweeper): started after the apps are wired, stopped before the store closes.
type jobs []job

// start starts every job; on a failure it stops those already started.
func (js jobs) start(ctx context.Context) error {
	for i, j := range js {
		if err := j.Start(ctx); err != nil {
			return errors.Join(fmt.Errorf("system: job: %w", err), js[:i].stop(ctx))
		}
	}
	return nil
}

// stop stops every job, in reverse order.
func (js jobs) stop(ctx context.Context) error {
	var errs []error
	for i := len(js) - 1; i >= 0; i-- {
		if err := js[i].Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("system: job: %w", err))
		}
	}
	return errors.Join(errs...)
}
