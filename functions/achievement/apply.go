package achievement

import (
	"context"
	"fmt"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// outcome is what applying a player's events did.
type outcome struct {
	rec        *progressRec
	applied    int
	duplicates int
	unlocked   []unlockRec
}

// apply applies the (checked) events of player p once each, in one ETag
// read-modify-write of p's record: ids already seen are skipped, the others
// run through the rules in order, and the new progress, the ids and the
// unlocks (with their rewards pending) are written together. A rule error
// or a store failure writes nothing. Afterwards, new unlocks are pushed and
// pending rewards sent (see flush).
func (a *App) apply(ctx context.Context, p gamemesh.PlayerID, events []*gamev1.GameEvent) (outcome, error) {
	var out outcome
	rec, err := a.update(ctx, p, func(r *progressRec) (bool, error) {
		out = outcome{}
		fresh := make([]*gamev1.GameEvent, 0, len(events))
		batch := make(map[string]bool, len(events))
		for _, ev := range events {
			if r.seen(ev.GetId()) || batch[ev.GetId()] {
				out.duplicates++
				continue
			}
			batch[ev.GetId()] = true
			fresh = append(fresh, ev)
		}
		if len(fresh) == 0 {
			return false, nil
		}
		now := a.now().UnixMilli()
		for _, ev := range fresh {
			res, gen, err := a.evaluate(ctx, ruleEvent(ev), r.Progress)
			if err != nil {
				return false, err
			}
			r.Progress, r.Generation = res.Progress, gen
			unlocks, err := parseUnlocks(res.Unlocks)
			if err != nil {
				return false, ruleErr(fmt.Errorf("event %s: %w", ev.GetId(), err))
			}
			for _, u := range unlocks {
				if r.unlocked(u.ID) != nil {
					continue
				}
				u.AtMs, u.Pending = now, len(u.Reward) > 0
				r.Unlocked = append(r.Unlocked, u)
				out.unlocked = append(out.unlocked, u)
			}
			r.markSeen(ev.GetId(), a.cfg.SeenEvents)
			out.applied++
		}
		return true, nil
	})
	if err != nil {
		return outcome{}, err
	}
	out.rec = rec
	for _, u := range out.unlocked {
		a.log.InfoContext(ctx, "achievement unlocked", "player", p, "achievement", u.ID, "generation", rec.Generation)
		a.notify(ctx, p, u)
	}
	out.rec, err = a.flush(ctx, p, rec)
	return out, err
}

// evaluate runs one on_event call.
func (a *App) evaluate(ctx context.Context, event, progress map[string]any) (RuleResult, string, error) {
	res, gen, err := a.rules.Evaluate(ctx, []RuleCall{{Event: event, Progress: progress}})
	if err != nil {
		return RuleResult{}, gen, ruleErr(err)
	}
	if len(res) != 1 {
		return RuleResult{}, gen, ruleErr(fmt.Errorf("rules answered %d results for 1 call", len(res)))
	}
	if res[0].Err != nil {
		return RuleResult{}, gen, ruleErr(res[0].Err)
	}
	if res[0].Progress == nil {
		return RuleResult{}, gen, ruleErr(fmt.Errorf("rules returned no progress"))
	}
	return res[0], gen, nil
}

// ruleErr is a failure of the rules: the event is not applied (and, from
// the topic, redelivered later).
func ruleErr(err error) error {
	if c := gamemesh.CodeOf(err); c == gamemesh.CodeUnavailable || c == gamemesh.CodeShuttingDown || c == gamemesh.CodeDeadlineExceeded {
		return gamemesh.Wrap(c, fmt.Errorf("achievement rules: %w", err), "achievement rules unavailable, retry later")
	}
	return gamemesh.Wrap(gamemesh.CodeInternal, fmt.Errorf("achievement rules: %w", err), "achievement rules failed")
}
