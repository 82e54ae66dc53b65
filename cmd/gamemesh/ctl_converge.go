package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/directory/redisdir"
	"github.com/gamemesh/gamemesh/functions/idip"
	"github.com/gamemesh/gamemesh/redisconfig"
)

// convergePoll is how often ctl re-reads the roster while it waits.
const convergePoll = 50 * time.Millisecond

// rosterReader lists the running processes of a cluster.
type rosterReader interface {
	Members(ctx context.Context, kind string) ([]directory.Member, error)
}

// converger is a ctlStore that can tell whether every running process
// applied a write.
type converger interface {
	awaitConverged(ctx context.Context, key, version string, out io.Writer) error
}

// afterWrite reports, when st can tell, which running processes applied
// version of key.
func afterWrite(ctx context.Context, st ctlStore, key, version string, out io.Writer) error {
	if c, ok := st.(converger); ok {
		return c.awaitConverged(ctx, key, version, out)
	}
	return nil
}

// convergence is what a write reached: how many processes run, which of
// them applied it, and the others as "id (version)".
type convergence struct {
	total     int
	converged []string
	lagging   []string
	waited    time.Duration
}

// report prints the convergence, or fails naming the processes that lag
// (the write itself stands: it is in the store, and they catch up by
// themselves once they can read it).
func (c convergence) report(out io.Writer, key, version string) error {
	switch {
	case c.total == 0:
		_, err := fmt.Fprintln(out, "converged: no running process announces itself in the roster")
		return err
	case len(c.lagging) == 0:
		noun := "processes"
		if c.total == 1 {
			noun = "process"
		}
		_, err := fmt.Fprintf(out, "converged: %d %s in %v (%s)\n", c.total, noun, c.waited.Round(time.Millisecond), strings.Join(c.converged, ", "))
		return err
	}
	return gamemesh.Errorf(gamemesh.CodeDeadlineExceeded,
		"version %s of %s written, but after %v these processes still report an older one: %s",
		version, key, c.waited.Round(time.Millisecond), strings.Join(c.lagging, ", "))
}

// redisCtlStore is the Redis configuration store of a Dapr-mode cluster and
// the roster in the same Redis, where every process reports the versions it
// applied: after a write, ctl waits until each of them reports it.
type redisCtlStore struct {
	*redisconfig.Store
	roster rosterReader
	wait   time.Duration
}

func newRedisCtlStore(s *redisconfig.Store, wait time.Duration) *redisCtlStore {
	return &redisCtlStore{Store: s, roster: redisdir.NewRoster(s.Client(), "", 0), wait: wait}
}

// awaitConverged polls the roster until no process lags behind version, for
// at most s.wait (0: do not wait). Processes that start meanwhile count too.
func (s *redisCtlStore) awaitConverged(ctx context.Context, key, version string, out io.Writer) error {
	if s.wait <= 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.wait)
	defer cancel()
	began := time.Now()
	var members, lagging []directory.Member // as of the last read of the roster
	for {
		ms, err := s.roster.Members(ctx, "")
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("reading the roster: %w", err)
		}
		if err == nil {
			members, lagging = ms, directory.Lagging(ms, key, version)
		}
		if err == nil && len(lagging) == 0 || ctx.Err() != nil {
			break
		}
		t := time.NewTimer(convergePoll)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	c := convergence{total: len(members), waited: time.Since(began)}
	behind := map[string]bool{}
	for _, m := range lagging {
		behind[m.ID] = true
		c.lagging = append(c.lagging, fmt.Sprintf("%s (%s)", m.ID, orNone(m.Info[directory.InfoConfigPrefix+key])))
	}
	for _, m := range members {
		if !behind[m.ID] {
			c.converged = append(c.converged, m.ID)
		}
	}
	return c.report(out, key, version)
}

// fromIDIP is the convergence an IDIP write answered with (the API waits for
// the processes itself).
func fromIDIP(ic *idip.Convergence) convergence {
	c := convergence{total: ic.Processes, converged: ic.Converged, waited: time.Duration(ic.WaitedMs) * time.Millisecond}
	for _, l := range ic.Lagging {
		c.lagging = append(c.lagging, fmt.Sprintf("%s (%s)", l.ID, orNone(l.Version)))
	}
	return c
}

func orNone(v string) string {
	if v == "" {
		return "none"
	}
	return v
}
