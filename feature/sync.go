package feature

import (
	"context"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/gamemesh/gamemesh"
)

// subscribe subscribes to the watched keys; the returned cancel ends the
// subscription. Subscribe does not send current values: callers read after.
func (f *Flags) subscribe() (context.CancelFunc, error) {
	ctx, cancel := context.WithCancel(f.runCtx)
	if err := f.src.Subscribe(ctx, f.Keys(), f.onNotify); err != nil {
		cancel()
		f.m.errors.WithLabelValues("subscribe").Inc()
		return nil, err
	}
	return cancel, nil
}

// onNotify applies the items a subscription delivered.
func (f *Flags) onNotify(items map[string]gamemesh.ConfigItem) {
	f.markOK()
	f.apply(items, false, nil, 0)
}

// readResult says what a successful read found.
type readResult struct {
	missed    bool // a periodic read found a change no notification delivered
	recovered bool // the read before this one failed
}

// read re-reads every watched key and applies what changed. periodic marks
// the timer's reconcile, whose changes are ones the subscription missed.
func (f *Flags) read(ctx context.Context, periodic bool) (res readResult, err error) {
	f.mu.Lock()
	keys, since := slices.Clone(f.keys), f.seq
	f.mu.Unlock()
	rctx, cancel := context.WithTimeout(ctx, f.cfg.ReadTimeout)
	items, err := f.src.Get(rctx, keys)
	cancel()
	if err != nil {
		f.m.errors.WithLabelValues("get").Inc()
		if !f.failing.Swap(true) {
			f.log.Warn("configuration store unreadable: keeping the last known good values", "err", err)
		}
		return res, err
	}
	f.markOK()
	f.synced.Store(true)
	if f.failing.Swap(false) {
		res.recovered = true
		f.log.Info("configuration store readable again")
	}
	changed := f.apply(items, true, keys, since)
	if periodic && len(changed) > 0 {
		res.missed = true
		f.m.repairs.Add(float64(len(changed)))
		f.log.Info("re-read found changes no notification delivered", "keys", changed)
	}
	return res, nil
}

// run keeps the values up to date until Stop: it re-reads on a timer, and
// subscribes again (with backoff) after a failed Subscribe, when a re-read
// finds a change the subscription missed, when the store is readable again
// after failed reads (an outage that broke reads likely ended the
// subscription's stream too), and when the key set grows.
// sub ends the subscription made by Start (nil if it failed).
func (f *Flags) run(sub context.CancelFunc) {
	ctx := f.runCtx
	reconcile := time.NewTicker(f.cfg.Reconcile)
	defer reconcile.Stop()
	retry := time.NewTimer(0)
	retry.Stop()
	defer retry.Stop()
	backoff := f.cfg.MinBackoff
	pending := false // a retry is armed
	again := func(reason string) {
		next, err := f.subscribe()
		if err != nil {
			if !pending {
				f.log.Warn("cannot subscribe to the configuration store; retrying", "reason", reason, "err", err, "backoff", backoff)
			}
			pending = true
			retry.Reset(jitter(backoff))
			backoff = min(2*backoff, f.cfg.MaxBackoff)
			return
		}
		// The new subscription is in place before the old one ends: no gap.
		if sub != nil {
			sub()
		}
		sub, pending, backoff = next, false, f.cfg.MinBackoff
		f.m.resubscribes.Inc()
		f.log.Info("subscribed to the configuration store again", "reason", reason)
		_, _ = f.read(ctx, false) // changes made while unsubscribed were not notified
	}
	if sub == nil {
		pending = true
		retry.Reset(jitter(backoff))
	}
	defer func() {
		if sub != nil {
			sub()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-reconcile.C:
			res, err := f.read(ctx, true)
			switch {
			case err != nil || pending:
			case res.missed:
				again("a notification was missed")
			case res.recovered:
				again("the store is readable again")
			}
		case <-retry.C:
			again("subscribe failed")
		case <-f.resub:
			again("watched keys changed")
		}
	}
}

// jitter spreads d by ±20% so that many processes do not retry in step.
func jitter(d time.Duration) time.Duration {
	return d - d/5 + rand.N(2*d/5+1)
}
