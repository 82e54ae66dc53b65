package directory

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// MemberRecorder is what an Announcer needs of a roster; MemoryRoster and
// redisdir.Roster implement it.
type MemberRecorder interface {
	Announce(ctx context.Context, m Member) error
	Leave(ctx context.Context, id string) error
}

// announceTimeout is the least time one announcement may take.
const announceTimeout = 2 * time.Second

// Announcer keeps one member in a roster: it announces at Start, again every
// Interval with fresh Info, and leaves at Stop. Failed announcements are
// logged and retried at the next interval (the member then looks dead to the
// others after the roster's TTL, which is the truth as far as they can tell).
type Announcer struct {
	// Roster receives the announcements.
	Roster MemberRecorder
	// Member is announced with Info replaced by Report() each time.
	Member Member
	// Report returns the Info to announce (nil: Member.Info as given). It is
	// called from the announcer's goroutine and must be safe for that.
	Report func() map[string]string
	// Interval between announcements (DefaultMemberTTL/3 when 0).
	Interval time.Duration
	// Logger receives failures (discarded when nil).
	Logger *slog.Logger

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
	kick   chan struct{}
}

// Start announces the member once (returning that error, so a process whose
// roster is unreachable can tell) and then keeps announcing it until Stop.
// Start after Start is an error.
func (a *Announcer) Start(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.done != nil {
		return errors.New("directory: announcer already started")
	}
	if a.Interval <= 0 {
		a.Interval = DefaultMemberTTL / 3
	}
	if a.Logger == nil {
		a.Logger = slog.New(slog.DiscardHandler)
	}
	err := a.announce(ctx)
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.cancel, a.done, a.kick = cancel, make(chan struct{}), make(chan struct{}, 1)
	go a.loop(runCtx)
	return err
}

// Refresh asks for an announcement now (after a change worth telling the
// cluster at once, e.g. a new config version); it does not wait for it.
func (a *Announcer) Refresh() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.kick != nil {
		select {
		case a.kick <- struct{}{}:
		default:
		}
	}
}

func (a *Announcer) loop(ctx context.Context) {
	defer close(a.done)
	t := time.NewTicker(a.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-a.kick:
		}
		if err := a.announce(ctx); err != nil && ctx.Err() == nil {
			a.Logger.Warn("announcing to the roster failed", "member", a.Member.ID, "err", err)
		}
	}
}

func (a *Announcer) announce(ctx context.Context) error {
	m := a.Member
	if a.Report != nil {
		m.Info = a.Report()
	}
	actx, cancel := context.WithTimeout(ctx, max(a.Interval, announceTimeout))
	defer cancel()
	return a.Roster.Announce(actx, m)
}

// Stop ends the announcements and removes the member from the roster (best
// effort within ctx). Stop before Start, or twice, does nothing more.
func (a *Announcer) Stop(ctx context.Context) error {
	a.mu.Lock()
	cancel, done := a.cancel, a.done
	a.cancel = nil
	a.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	<-done
	return a.Roster.Leave(ctx, a.Member.ID)
}
