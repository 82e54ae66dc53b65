package gate

import (
	"errors"
	"fmt"
	"math"
	"time"

	"golang.org/x/time/rate"
)

// Limits are the admission and rate limits of a gate that may change while
// it runs (live settings). New takes them from Config.
type Limits struct {
	// MaxOnline is how many players are admitted at once (0 admits nobody:
	// every login queues).
	MaxOnline int
	// QueueCap is how many logins may wait in the queue (0: none may wait).
	QueueCap int
	// AdmissionRate is how many queued logins are admitted per second.
	AdmissionRate float64
	// RateLimit is the sustained frames per second allowed per connection
	// (requests, heartbeats and pings all count), RateBurst the bucket size.
	RateLimit float64
	RateBurst int
}

// validate reports every problem of l at once.
func (l Limits) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("gate: limits: "+format, args...)) }
	if l.MaxOnline < 0 {
		bad("MaxOnline %d must not be negative", l.MaxOnline)
	}
	if l.QueueCap < 0 {
		bad("QueueCap %d must not be negative", l.QueueCap)
	}
	if l.RateBurst < 1 {
		bad("RateBurst %d must be at least 1", l.RateBurst)
	}
	if !(l.RateLimit > 0) || math.IsInf(l.RateLimit, 0) {
		bad("RateLimit %v must be a positive number", l.RateLimit)
	}
	if !(l.AdmissionRate > 0) || math.IsInf(l.AdmissionRate, 0) {
		bad("AdmissionRate %v must be a positive number", l.AdmissionRate)
	}
	return errors.Join(errs...)
}

// Limits returns the limits in force.
func (g *Gate) Limits() Limits { return *g.limits.Load() }

// SetLimits changes the limits of the running gate, or returns an error
// naming every invalid field and changes nothing. It is safe to call at any
// time, under load. New per-connection rates apply at once to every logged-in
// and queued session; a lower MaxOnline admits nobody until enough players
// leave (no one is kicked); a higher one admits queued logins at once, at the
// admission rate; a lower QueueCap refuses new logins beyond it (queued ones
// keep their place); a new admission rate applies from the next admission.
func (g *Gate) SetLimits(l Limits) error {
	if err := l.validate(); err != nil {
		return err
	}
	g.mu.Lock()
	old := g.limits.Load()
	if *old == l {
		g.mu.Unlock()
		return nil
	}
	g.limits.Store(&l)
	if l.RateLimit != old.RateLimit || l.RateBurst != old.RateBurst {
		now := time.Now()
		set := func(s *session) {
			s.limiter.SetLimitAt(now, rate.Limit(l.RateLimit))
			s.limiter.SetBurstAt(now, l.RateBurst)
		}
		for _, s := range g.online {
			set(s)
		}
		for el := g.queue.Front(); el != nil; el = el.Next() {
			set(el.Value.(*session))
		}
	}
	g.mu.Unlock()
	if l.AdmissionRate != old.AdmissionRate {
		g.admitLim.SetLimit(rate.Limit(l.AdmissionRate))
		g.admitLim.SetBurst(admissionBurst(l.AdmissionRate))
	}
	g.wakeAdmission()
	g.log.Info("limits changed", "max_online", l.MaxOnline, "queue_cap", l.QueueCap,
		"admission_rate", l.AdmissionRate, "rate_limit", l.RateLimit, "rate_burst", l.RateBurst)
	return nil
}
