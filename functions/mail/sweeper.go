package mail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
)

// Defaults of SweeperConfig.
const (
	DefaultSweepEvery = 10 * time.Minute
	// DefaultSweepGrace is how long after its UTC day a bucket is swept, so
	// that clocks a little apart agree the day is over.
	DefaultSweepGrace = time.Hour
	// DefaultSweepFirst is the delay before a started sweeper's first pass.
	DefaultSweepFirst = 30 * time.Second
)

// cursorKey holds the first UTC day whose bucket is not swept yet.
const cursorKey = "mail/expiry/cursor"

// SweeperConfig shapes a Sweeper; zero fields take the defaults.
type SweeperConfig struct {
	// Every is the time between two passes (DefaultSweepEvery).
	Every time.Duration
	// Grace delays the sweep of a day past its end (DefaultSweepGrace).
	Grace time.Duration
	// First is the delay before the first pass (DefaultSweepFirst).
	First time.Duration
}

// Sweeper deletes expired mail from the boxes that hold it, day by day,
// through the expiry buckets (expiry.go), and drops expired broadcasts from
// the index. Expired mail is never listed, read or claimed whether swept or
// not: the sweep reclaims storage. Running a sweeper in several processes is
// safe (each step is an idempotent ETag-guarded write), only wasteful.
//
// Start runs passes on an owned goroutine until Stop; RunOnce runs one pass
// (tests, tools).
type Sweeper struct {
	app *App
	cfg SweeperConfig
	log *slog.Logger

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// SweepStats counts what one pass did.
type SweepStats struct {
	// Days is how many days' buckets were swept.
	Days int
	// Boxes is how many boxes were visited, Mails how many expired mails deleted.
	Boxes, Mails int
	// Broadcasts is how many expired broadcasts left the index.
	Broadcasts int
}

// Sweeper returns a stopped sweeper over the app's store.
func (a *App) Sweeper(cfg SweeperConfig) *Sweeper {
	if cfg.Every <= 0 {
		cfg.Every = DefaultSweepEvery
	}
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultSweepGrace
	}
	if cfg.First <= 0 {
		cfg.First = DefaultSweepFirst
	}
	return &Sweeper{app: a, cfg: cfg, log: a.log.With("part", "sweeper")}
}

// Start starts the passes. It fails if the sweeper is running.
func (s *Sweeper) Start(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done != nil {
		return errors.New("mail: sweeper already started")
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.done = cancel, make(chan struct{})
	go s.loop(ctx, s.done)
	return nil
}

// Stop ends the passes, waiting for a pass in progress (bounded by ctx).
func (s *Sweeper) Stop(ctx context.Context) error {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.cancel, s.done = nil, nil
	s.mu.Unlock()
	if done == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("mail: sweeper stop: %w", ctx.Err())
	}
}

func (s *Sweeper) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTimer(s.cfg.First)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		st, err := s.RunOnce(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("mail sweep failed; next pass retries", "err", err, "days", st.Days, "mails", st.Mails)
		case st.Days > 0 || st.Broadcasts > 0:
			s.log.Info("mail swept", "days", st.Days, "boxes", st.Boxes, "mails", st.Mails, "broadcasts", st.Broadcasts)
		}
		t.Reset(s.cfg.Every)
	}
}

// cursorRec is the JSON value of cursorKey.
type cursorRec struct {
	Next int64 `json:"next_day"`
}

// RunOnce sweeps every day whose end (plus Grace) has passed and that is not
// swept yet, then prunes the broadcast index.
func (s *Sweeper) RunOnce(ctx context.Context) (SweepStats, error) {
	var st SweepStats
	a := s.app
	now := a.now()
	next, err := s.cursor(ctx, now)
	if err != nil {
		return st, err
	}
	for ; (next+1)*dayMs+s.cfg.Grace.Milliseconds() <= now.UnixMilli(); next++ {
		for shard := range a.cfg.ExpiryShards {
			if err := s.sweepShard(ctx, next, shard, &st); err != nil {
				return st, err
			}
		}
		if err := s.advance(ctx, next+1); err != nil {
			return st, err
		}
		st.Days++
	}
	n, err := s.pruneIndex(ctx)
	st.Broadcasts = n
	return st, err
}

// cursor reads the first unswept day. A missing cursor (the first pass ever)
// starts as far back as a bucket can still exist (bucketTTLSlack).
func (s *Sweeper) cursor(ctx context.Context, now time.Time) (int64, error) {
	out, err := functions.Update(ctx, s.app.store, cursorKey, bucketUpdate, func(cur []byte, exists bool) (*functions.Write, error) {
		if exists {
			return nil, nil
		}
		val, _ := json.Marshal(cursorRec{Next: expiryDay(now.Add(-bucketTTLSlack).UnixMilli()) - 1})
		return &functions.Write{Value: val}, nil
	})
	if err != nil {
		return 0, err
	}
	var c cursorRec
	if err := json.Unmarshal(out, &c); err != nil {
		return 0, gamemesh.Wrap(gamemesh.CodeInternal, fmt.Errorf("decode %s: %w", cursorKey, err), "corrupt sweep cursor")
	}
	return c.Next, nil
}

// advance moves the cursor forward to day (never back).
func (s *Sweeper) advance(ctx context.Context, day int64) error {
	_, err := functions.Update(ctx, s.app.store, cursorKey, bucketUpdate, func(cur []byte, exists bool) (*functions.Write, error) {
		var c cursorRec
		if exists {
			if err := json.Unmarshal(cur, &c); err != nil {
				return nil, gamemesh.Wrap(gamemesh.CodeInternal, fmt.Errorf("decode %s: %w", cursorKey, err), "corrupt sweep cursor")
			}
		}
		if exists && c.Next >= day {
			return nil, nil
		}
		val, _ := json.Marshal(cursorRec{Next: day})
		return &functions.Write{Value: val}, nil
	})
	return err
}

// sweepShard purges the boxes listed in one bucket shard, then deletes the
// shard (guarded by the ETag it was read with; re-read on a conflict).
func (s *Sweeper) sweepShard(ctx context.Context, day int64, shard int, st *SweepStats) error {
	a := s.app
	key := bucketKey(day, shard)
	for attempt := range bucketUpdate.MaxAttempts {
		if attempt > 0 {
			if err := functions.Backoff(ctx, attempt); err != nil {
				return err
			}
		}
		item, exists, err := functions.Read(ctx, a.store, key, "mail")
		if err != nil || !exists {
			return err
		}
		var br bucketRec
		if err := json.Unmarshal(item.Value, &br); err != nil {
			return gamemesh.Wrap(gamemesh.CodeInternal, fmt.Errorf("decode %s: %w", key, err), "corrupt mail expiry index")
		}
		for _, p := range br.Players {
			n, err := a.purge(ctx, gamemesh.PlayerID(p))
			if err != nil {
				return err
			}
			st.Boxes++
			st.Mails += n
		}
		err = a.store.Delete(ctx, key, item.ETag)
		if err == nil {
			return nil
		}
		if !errors.Is(err, gamemesh.ErrConflict) {
			return functions.StoreError(fmt.Errorf("delete %s: %w", key, err), "mail store unavailable")
		}
	}
	return bucketUpdate.Busy
}

// purge deletes the expired mails of a box and returns how many.
func (a *App) purge(ctx context.Context, player gamemesh.PlayerID) (int, error) {
	if !player.Valid() {
		return 0, nil
	}
	n := 0
	_, err := a.update(ctx, player, func(b *box) (bool, error) {
		n = b.expiredCount(a.now())
		return n > 0, nil
	})
	return n, err
}

// pruneIndex drops expired broadcasts from the index.
func (s *Sweeper) pruneIndex(ctx context.Context) (int, error) {
	a := s.app
	n := 0
	_, err := functions.Update(ctx, a.store, indexKey, indexUpdate, func(cur []byte, exists bool) (*functions.Write, error) {
		n = 0
		if !exists {
			return nil, nil
		}
		ix, err := decodeIndex(cur, exists)
		if err != nil {
			return nil, err
		}
		before := len(ix.Live)
		if !ix.prune(a.now()) {
			return nil, nil
		}
		n = before - len(ix.Live)
		return encodeIndex(ix)
	})
	if n > 0 {
		a.index.invalidate()
	}
	return n, err
}
