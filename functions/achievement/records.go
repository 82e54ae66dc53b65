package achievement

import (
	"math"

	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// progressKey is the one key holding everything about a player.
func progressKey(p string) string { return AppName + "/p/" + p }

// progressRec is a player's record: the rules' progress, the recent event
// ids, the unlocked achievements and which rewards still wait for mail — one
// key, so that one ETag write changes them together.
type progressRec struct {
	// Progress is the rules' own table, opaque to Go.
	Progress map[string]any `json:"progress,omitempty"`
	// Seen lists recent applied event ids, oldest first (bounded).
	Seen []string `json:"seen,omitempty"`
	// Unlocked lists unlocked achievements in unlock order.
	Unlocked []unlockRec `json:"unlocked,omitempty"`
	// Generation is the rules generation that last changed the progress.
	Generation string `json:"gen,omitempty"`
}

// unlockRec is one unlocked achievement; Pending while its reward mail is
// not known to be sent.
type unlockRec struct {
	ID      string    `json:"id"`
	Title   string    `json:"title"`
	AtMs    int64     `json:"at_ms"`
	Reward  []itemRec `json:"reward,omitempty"`
	Pending bool      `json:"pending,omitempty"`
}

type itemRec struct {
	ID    string `json:"id"`
	Count int64  `json:"n"`
}

func (r *progressRec) seen(id string) bool {
	for _, s := range r.Seen {
		if s == id {
			return true
		}
	}
	return false
}

func (r *progressRec) markSeen(id string, keep int) {
	r.Seen = append(r.Seen, id)
	if over := len(r.Seen) - keep; over > 0 {
		r.Seen = append([]string(nil), r.Seen[over:]...)
	}
}

func (r *progressRec) unlocked(id string) *unlockRec {
	for i := range r.Unlocked {
		if r.Unlocked[i].ID == id {
			return &r.Unlocked[i]
		}
	}
	return nil
}

func (r *progressRec) pending() []unlockRec {
	var out []unlockRec
	for _, u := range r.Unlocked {
		if u.Pending {
			out = append(out, u)
		}
	}
	return out
}

func (u unlockRec) proto() *gamev1.Achievement {
	items := make([]*gamev1.Item, len(u.Reward))
	for i, it := range u.Reward {
		items[i] = &gamev1.Item{Id: it.ID, Count: it.Count}
	}
	return &gamev1.Achievement{Id: u.ID, Title: u.Title, UnlockedAtMs: u.AtMs, Reward: items, RewardPending: u.Pending}
}

// counters returns the integer top-level fields of the progress.
func (r *progressRec) counters() map[string]int64 {
	out := make(map[string]int64)
	for k, v := range r.Progress {
		switch n := v.(type) {
		case float64: // after a JSON round trip
			if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
				out[k] = int64(n)
			}
		case int64:
			out[k] = n
		}
	}
	return out
}
