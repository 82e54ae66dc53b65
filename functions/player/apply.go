package player

import (
	"context"
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// ackBatch is how many grant ids one mail.ackGrants call carries.
const ackBatch = 500

// applyGrants applies the pending grants of a player (service use).
func (a *App) applyGrants(ctx context.Context, _ gamemesh.Request, in *gamev1.ApplyGrantsRequest) (*gamev1.ApplyGrantsResponse, error) {
	player := gamemesh.PlayerID(in.GetPlayerId())
	if !player.Valid() {
		return nil, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "player_id must be 2 to 64 characters of [a-z0-9_-]")
	}
	applied, rec, err := a.apply(ctx, player)
	var h heldError
	if errors.As(err, &h) {
		// The holding scene host applies them: pass the notice on.
		return &gamev1.ApplyGrantsResponse{Player: h.rec}, a.forward(ctx, player, h.host)
	}
	if err != nil {
		return nil, err
	}
	return &gamev1.ApplyGrantsResponse{Applied: applied, Player: rec}, nil
}

// onGrantsPending is the "player.grants" subscription: apply the player's grants.
func (a *App) onGrantsPending(ctx context.Context, ev gamemesh.Event) error {
	var msg gamev1.GrantsPendingEvent
	if err := proto.Unmarshal(ev.Data, &msg); err != nil || !gamemesh.PlayerID(msg.GetPlayerId()).Valid() {
		// A malformed event never gets better: drop it (acknowledge) and say so.
		a.log.ErrorContext(ctx, "dropping malformed grants event", "event", ev.ID, "err", err)
		return nil
	}
	_, _, err := a.apply(ctx, gamemesh.PlayerID(msg.GetPlayerId()))
	var h heldError
	if errors.As(err, &h) {
		return a.forward(ctx, gamemesh.PlayerID(msg.GetPlayerId()), h.host)
	}
	if err != nil {
		return fmt.Errorf("apply grants of %s (event %s): %w", msg.GetPlayerId(), ev.ID, err)
	}
	return nil
}

// heldError says a scene host holds the record: only it may apply grants.
type heldError struct {
	host string
	rec  *gamev1.PlayerRecord
}

func (e heldError) Error() string { return "player record held by scene host " + e.host }

// apply pulls the pending grants of player, applies the new ones in one
// ETag-guarded write of its record, then acknowledges every grant the record
// has applied. It returns the grants applied by this call and the record.
// While a scene host holds the record it applies nothing and returns a
// heldError; a lapsed lease is fenced (see fence) and the grants applied.
func (a *App) apply(ctx context.Context, player gamemesh.PlayerID) ([]*gamev1.Grant, *gamev1.PlayerRecord, error) {
	var pending gamev1.PendingGrantsResponse
	if err := a.call(ctx, "pendingGrants", &gamev1.PendingGrantsRequest{PlayerId: string(player)}, &pending); err != nil {
		return nil, nil, err
	}
	var applied []*gamev1.Grant
	var ack []string
	holder := ""
	rec, err := a.update(ctx, player, func(rec *gamev1.PlayerRecord) bool {
		applied, ack, holder = applied[:0], ack[:0], ""
		if held(rec, a.now()) {
			holder = rec.GetLease().GetHolder()
			return false
		}
		fenced := fence(rec, a.now())
		done := make(map[string]bool, len(rec.AppliedGrants))
		for _, id := range rec.AppliedGrants {
			done[id] = true
		}
		for _, g := range pending.GetGrants() {
			switch {
			case g.GetPlayerId() != string(player) || g.GetId() == "":
				a.log.ErrorContext(ctx, "ignoring grant for another player", "player", player, "grant", g.GetId(), "grant_player", g.GetPlayerId())
			case done[g.GetId()]:
				ack = append(ack, g.GetId())
			default:
				if err := a.addItems(rec.Inventory, g.GetItems()); err != nil {
					a.log.ErrorContext(ctx, "refusing grant", "player", player, "grant", g.GetId(), "source", g.GetSource(), "err", err)
					continue
				}
				done[g.GetId()] = true
				rec.AppliedGrants = append(rec.AppliedGrants, g.GetId())
				applied = append(applied, g)
				ack = append(ack, g.GetId())
			}
		}
		if n := len(rec.AppliedGrants) - a.cfg.AppliedGrantsCap; n > 0 {
			rec.AppliedGrants = append([]string(nil), rec.AppliedGrants[n:]...)
		}
		return len(applied) > 0 || fenced
	})
	if err != nil {
		return nil, nil, err
	}
	if holder != "" {
		return nil, rec, heldError{host: holder, rec: rec}
	}
	for start := 0; start < len(ack); start += ackBatch {
		ids := ack[start:min(start+ackBatch, len(ack))]
		if err := a.call(ctx, "ackGrants", &gamev1.AckGrantsRequest{PlayerId: string(player), GrantIds: ids}, &gamev1.AckGrantsResponse{}); err != nil {
			return nil, nil, err
		}
	}
	if len(applied) > 0 {
		a.log.InfoContext(ctx, "grants applied", "player", player, "count", len(applied))
	}
	return applied, rec, nil
}

// addItems adds items to inv, all or nothing: a non-positive count, a bad
// id or a stack beyond MaxStack refuses the whole grant and leaves inv as is.
func (a *App) addItems(inv map[string]int64, items []*gamev1.Item) error {
	next := make(map[string]int64, len(items))
	for _, it := range items {
		id, n := it.GetId(), it.GetCount()
		if id == "" || len(id) > 64 {
			return fmt.Errorf("bad item id %q", id)
		}
		if n <= 0 {
			return fmt.Errorf("item %s: count %d is not positive", id, n)
		}
		cur, ok := next[id]
		if !ok {
			cur = inv[id]
		}
		if cur > math.MaxInt64-n || cur+n > a.cfg.MaxStack {
			return fmt.Errorf("item %s: %d + %d exceeds the stack limit %d", id, cur, n, a.cfg.MaxStack)
		}
		next[id] = cur + n
	}
	for id, n := range next {
		inv[id] = n
	}
	return nil
}

// call invokes a mail method with the default deadline when ctx has none.
func (a *App) call(ctx context.Context, method string, in, out proto.Message) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, gamemesh.DefaultDeadline)
		defer cancel()
	}
	if err := functions.Call(ctx, a.inv, "mail", method, in, out); err != nil {
		code := gamemesh.CodeOf(err)
		if code != gamemesh.CodeDeadlineExceeded {
			code = gamemesh.CodeUnavailable
		}
		return gamemesh.Wrap(code, fmt.Errorf("mail.%s: %w", method, err), "grants unavailable, retry later")
	}
	return nil
}
