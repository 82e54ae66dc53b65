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
	"github.com/gamemesh/gamemesh/redisconfig"
)

// convergePoll is how often ctl re-reads the roster while it waits.
const convergePoll = 50 * time.Millisecond

// rosterReader lists the running processes of a cluster.
type rosterReader interface {
	Members(ctx context.Context, kind string) ([]directory.Member, error)
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

// converger is a ctlStore that can wait for every running process to apply a
// write.
type converger interface {
	awaitConverged(ctx context.Context, key, version string, out io.Writer) error
}

// afterWrite waits, when st can, until every running process applied version
// of key, and prints who did.
func afterWrite(ctx context.Context, st ctlStore, key, version string, out io.Writer) error {
	if c, ok := st.(converger); ok {
		return c.awaitConverged(ctx, key, version, out)
	}
	return nil
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
	var lagging []directory.Member // as of the last read of the roster
	for {
		members, err := s.roster.Members(ctx, "")
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("reading the roster: %w", err)
		}
		if err == nil {
			lagging = directory.Lagging(members, key, version)
		}
		switch {
		case err == nil && len(members) == 0:
			_, err = fmt.Fprintln(out, "converged: no running process announces itself in the roster")
			return err
		case err == nil && len(lagging) == 0:
			_, err = fmt.Fprintf(out, "converged: %d processes in %v (%s)\n", len(members),
				time.Since(began).Round(time.Millisecond), memberIDs(members, key, false))
			return err
		case ctx.Err() != nil:
			return gamemesh.Errorf(gamemesh.CodeDeadlineExceeded,
				"version %s of %s written, but after %v these processes still report an older one: %s",
				version, key, s.wait, memberIDs(lagging, key, true))
		}
		t := time.NewTimer(convergePoll)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
}

// memberIDs lists members by id, with the version of key each reports when
// withVersion is set.
func memberIDs(ms []directory.Member, key string, withVersion bool) string {
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
		if withVersion {
			v := m.Info[directory.InfoConfigPrefix+key]
			if v == "" {
				v = "none"
			}
			ids[i] += " (" + v + ")"
		}
	}
	return strings.Join(ids, ", ")
}
