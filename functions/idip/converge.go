package idip

import (
	"context"
	"time"

	"github.com/gamemesh/gamemesh/directory"
)

// DefaultConvergeWait bounds how long a switch or setting write waits for
// every running process to report the new version.
const DefaultConvergeWait = 5 * time.Second

// convergePoll is how often the roster is re-read while waiting.
const convergePoll = 50 * time.Millisecond

// Convergence says which running processes (the roster) applied a
// configuration write by the time the command answered.
type Convergence struct {
	// Processes is how many processes the roster lists.
	Processes int `json:"processes"`
	// Converged are the ids of those that report the version (or newer).
	Converged []string `json:"converged"`
	// Lagging are the others, with the version they report ("" for none).
	Lagging []Lag `json:"lagging,omitempty"`
	// WaitedMs is how long the command waited.
	WaitedMs int64 `json:"waited_ms"`
}

// Lag is a process that had not applied a write yet.
type Lag struct {
	ID      string `json:"id"`
	Version string `json:"version"`
}

// converge waits, at most ConvergeWait, until every process in the roster
// reports version of key, and says who did. The write has happened either
// way: a process that lags (its store or sidecar is down) keeps its last
// known good values and catches up by itself.
func (a *App) converge(ctx context.Context, key, version string) *Convergence {
	if a.cfg.ConvergeWait < 0 {
		return nil
	}
	began := a.now()
	ctx, cancel := context.WithTimeout(ctx, a.cfg.ConvergeWait)
	defer cancel()
	var last []directory.Member
	var lagging []directory.Member
	for {
		if ms, err := a.deps.Roster.Members(ctx, ""); err == nil {
			last, lagging = ms, directory.Lagging(ms, key, version)
			if len(lagging) == 0 {
				break
			}
		}
		t := time.NewTimer(convergePoll)
		select {
		case <-t.C:
			continue
		case <-ctx.Done():
			t.Stop()
		}
		break
	}
	c := &Convergence{Processes: len(last), Converged: []string{}, WaitedMs: a.now().Sub(began).Milliseconds()}
	behind := map[string]bool{}
	for _, m := range lagging {
		behind[m.ID] = true
		c.Lagging = append(c.Lagging, Lag{ID: m.ID, Version: m.Info[directory.InfoConfigPrefix+key]})
	}
	for _, m := range last {
		if !behind[m.ID] {
			c.Converged = append(c.Converged, m.ID)
		}
	}
	return c
}
