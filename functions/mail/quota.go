package mail

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
)

// quotaRecent is how many recent request ids a sender's quota remembers, so
// that a retried send is not counted twice.
const quotaRecent = 64

// quotaTTL keeps an idle sender's quota key no longer than needed.
const quotaTTL = 48 * time.Hour

// quotaRec is the JSON value of mail/quota/<sender>: what a player sent in
// the current UTC minute and day.
type quotaRec struct {
	Day    int64          `json:"d"`
	DayN   int            `json:"dn"`
	To     map[string]int `json:"to,omitempty"`
	Min    int64          `json:"m"`
	MinN   int            `json:"mn"`
	Recent []string       `json:"r,omitempty"`
}

func quotaKey(sender gamemesh.PlayerID) string { return "mail/quota/" + string(sender) }

var quotaUpdate = functions.UpdateOptions{
	MaxAttempts: 16,
	TTL:         quotaTTL,
	Busy:        gamemesh.Errorf(gamemesh.CodeConflict, "mail quota busy, retry"),
	What:        "mail",
}

// spend counts one send of sender to recipient against the sender's quotas,
// or refuses it: RATE_LIMITED beyond Config.SendsPerMinute in a UTC minute,
// LIMIT_REACHED beyond Config.SendsPerDay in a UTC day or beyond
// Config.SendsPerRecipientDaily to one recipient in a UTC day. A request id
// already counted is not counted again. The count is taken before the mail
// is written: a send that then fails (mailbox full, store down) still
// counts, so the quota errs on the side of the recipient.
func (a *App) spend(ctx context.Context, sender, to gamemesh.PlayerID, requestID string) error {
	key := quotaKey(sender)
	now := a.now().UTC()
	day, minute := now.Unix()/86400, now.Unix()/60
	_, err := functions.Update(ctx, a.store, key, quotaUpdate, func(cur []byte, exists bool) (*functions.Write, error) {
		var q quotaRec
		if exists {
			if err := json.Unmarshal(cur, &q); err != nil {
				return nil, gamemesh.Wrap(gamemesh.CodeInternal, fmt.Errorf("decode %s: %w", key, err), "corrupt mail quota")
			}
		}
		if slices.Contains(q.Recent, requestID) {
			return nil, nil
		}
		if q.Day != day {
			q.Day, q.DayN, q.To = day, 0, nil
		}
		if q.Min != minute {
			q.Min, q.MinN = minute, 0
		}
		switch {
		case q.MinN >= a.cfg.SendsPerMinute:
			return nil, gamemesh.Errorf(gamemesh.CodeRateLimited, "sending mail too fast: at most %d a minute", a.cfg.SendsPerMinute)
		case q.DayN >= a.cfg.SendsPerDay:
			return nil, gamemesh.Errorf(gamemesh.CodeLimitReached, "daily mail limit reached: at most %d a day", a.cfg.SendsPerDay)
		case q.To[string(to)] >= a.cfg.SendsPerRecipientDaily:
			return nil, gamemesh.Errorf(gamemesh.CodeLimitReached, "daily limit of mails to this player reached: at most %d a day", a.cfg.SendsPerRecipientDaily)
		}
		q.DayN++
		q.MinN++
		if q.To == nil {
			q.To = make(map[string]int)
		}
		q.To[string(to)]++
		q.Recent = append(q.Recent, requestID)
		if over := len(q.Recent) - quotaRecent; over > 0 {
			q.Recent = append([]string(nil), q.Recent[over:]...)
		}
		val, err := json.Marshal(&q)
		if err != nil {
			return nil, gamemesh.Wrap(gamemesh.CodeInternal, fmt.Errorf("encode %s: %w", key, err), "encoding mail quota")
		}
		return &functions.Write{Value: val}, nil
	})
	return err
}

// quotaRefusal reports whether err is a refusal by spend.
func quotaRefusal(err error) bool {
	c := gamemesh.CodeOf(err)
	return c == gamemesh.CodeRateLimited || c == gamemesh.CodeLimitReached
}
