package player

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// DefaultLease is how long a scene host's lease on a record lasts without a
// save (hosts save at least every flush interval, 30 s by default).
const DefaultLease = 90 * time.Second

// maxLease bounds the lease a host may ask for.
const maxLease = time.Hour

// maxStateBody bounds a save: an inventory of a few thousand stacks and the
// applied grant ids.
const maxStateBody = 256 << 10

// HostGrantsTopic is the topic of grant notices for the players held by scene
// host id: while a player is online, "player.grants" notices are forwarded
// there, because only the holder may change the record (consumer groups are
// per app id, so each host needs a topic of its own).
func HostGrantsTopic(host string) string { return GrantsTopic + "." + host }

// errLeaseLost refuses a write of a host that does not hold the lease (any
// more): it must drop the player, not retry.
func errLeaseLost(player gamemesh.PlayerID) error {
	return gamemesh.Errorf(gamemesh.CodePermissionDenied, "lease on %s lost: another host holds it", player)
}

// held reports whether rec is leased to a host at now.
func held(rec *gamev1.PlayerRecord, now time.Time) bool {
	l := rec.GetLease()
	return l.GetHolder() != "" && l.GetUntilMs() > now.UnixMilli()
}

// fence frees a lapsed lease so that the app may write the record itself: the
// epoch grows, so the lapsed holder's late saves are refused.
func fence(rec *gamev1.PlayerRecord, now time.Time) bool {
	l := rec.GetLease()
	if l.GetHolder() == "" || l.GetUntilMs() > now.UnixMilli() {
		return false
	}
	rec.Lease = &gamev1.PlayerLease{Epoch: l.GetEpoch() + 1}
	return true
}

func (a *App) leaseFor(ms int64) (time.Duration, error) {
	if ms < 0 || time.Duration(ms)*time.Millisecond > maxLease {
		return 0, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "lease_ms %d out of [0, %d]", ms, maxLease.Milliseconds())
	}
	if ms == 0 {
		return DefaultLease, nil
	}
	return time.Duration(ms) * time.Millisecond, nil
}

func checkHost(player gamemesh.PlayerID, host string) error {
	if !player.Valid() {
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "player_id must be 2 to 64 characters of [a-z0-9_-]")
	}
	if !gamemesh.ValidKeyPart(host) {
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "host_id must be 2 to 64 characters of [a-z0-9_-]")
	}
	return nil
}

// checkout takes the lease of a player for a scene host, fencing out the
// previous holder (a host that crashed, or one the gate gave up on). A retry
// of the same request answers the same epoch.
func (a *App) checkout(ctx context.Context, _ gamemesh.Request, in *gamev1.CheckoutPlayerRequest) (*gamev1.CheckoutPlayerResponse, error) {
	player, host := gamemesh.PlayerID(in.GetPlayerId()), in.GetHostId()
	if err := checkHost(player, host); err != nil {
		return nil, err
	}
	lease, err := a.leaseFor(in.GetLeaseMs())
	if err != nil {
		return nil, err
	}
	if in.GetRequestId() == "" || len(in.GetRequestId()) > 128 {
		return nil, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "request_id must be 1 to 128 bytes")
	}
	rec, err := a.updateErr(ctx, player, func(rec *gamev1.PlayerRecord) (bool, error) {
		l := rec.GetLease()
		if rec.GetCheckoutRequest() == in.GetRequestId() && l.GetHolder() == host {
			return false, nil // a retry: the lease was taken by this very request
		}
		rec.Lease = &gamev1.PlayerLease{Holder: host, Epoch: l.GetEpoch() + 1, UntilMs: a.now().Add(lease).UnixMilli()}
		rec.CheckoutRequest = in.GetRequestId()
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if prev := rec.GetLease(); prev.GetHolder() != host {
		return nil, errLeaseLost(player) // a newer checkout won meanwhile
	}
	// Entering the world is where a new player gets its welcome gift (the
	// holder serves player.get while the player is online).
	rec = a.welcome(ctx, rec)
	return &gamev1.CheckoutPlayerResponse{Player: rec, Epoch: rec.GetLease().GetEpoch()}, nil
}

// save writes the state a holding host saved; checkin also frees the lease.
func (a *App) save(ctx context.Context, in *gamev1.SavePlayerRequest, release bool) (*gamev1.SavePlayerResponse, error) {
	player, host := gamemesh.PlayerID(in.GetPlayerId()), in.GetHostId()
	if err := checkHost(player, host); err != nil {
		return nil, err
	}
	lease, err := a.leaseFor(in.GetLeaseMs())
	if err != nil {
		return nil, err
	}
	if in.GetEpoch() == 0 || in.GetSeq() == 0 {
		return nil, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "epoch and seq must be positive")
	}
	st := in.GetState()
	if err := a.checkState(st); err != nil {
		return nil, err
	}
	done := false
	_, err = a.updateErr(ctx, player, func(rec *gamev1.PlayerRecord) (bool, error) {
		done = false
		l := rec.GetLease()
		switch {
		case l.GetEpoch() != in.GetEpoch():
			return false, errLeaseLost(player)
		case l.GetHolder() == "" && in.GetSeq() <= l.GetSeq():
			done = true // a retried checkin that was applied
			return false, nil
		case l.GetHolder() != host:
			return false, errLeaseLost(player)
		case in.GetSeq() <= l.GetSeq():
			done = true
			return false, nil
		}
		rec.Level, rec.Xp = st.GetLevel(), st.GetXp()
		rec.Inventory = st.GetInventory()
		if rec.Inventory == nil {
			rec.Inventory = map[string]int64{}
		}
		rec.AppliedGrants = st.GetAppliedGrants()
		if n := len(rec.AppliedGrants) - a.cfg.AppliedGrantsCap; n > 0 {
			rec.AppliedGrants = append([]string(nil), rec.AppliedGrants[n:]...)
		}
		next := &gamev1.PlayerLease{Holder: host, Epoch: l.GetEpoch(), Seq: in.GetSeq(), UntilMs: a.now().Add(lease).UnixMilli()}
		if release {
			next.Holder, next.UntilMs = "", 0
		}
		rec.Lease = next
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return &gamev1.SavePlayerResponse{AlreadyDone: done}, nil
}

// checkState refuses a state that no game could reach: a level out of
// [1, 1000], negative experience, bad item ids or counts.
func (a *App) checkState(st *gamev1.PlayerState) error {
	if st == nil {
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "state is required")
	}
	if st.GetLevel() < 1 || st.GetLevel() > 1000 || st.GetXp() < 0 {
		return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "level %d or xp %d out of range", st.GetLevel(), st.GetXp())
	}
	for id, n := range st.GetInventory() {
		if !gamemesh.ValidItemID(id) || n < 0 || n > a.cfg.MaxStack {
			return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "inventory item %.64q count %d refused", id, n)
		}
	}
	for _, g := range st.GetAppliedGrants() {
		if g == "" || len(g) > 256 {
			return gamemesh.Errorf(gamemesh.CodeInvalidArgument, "applied grant id of %d bytes", len(g))
		}
	}
	return nil
}

// updateErr is update with a decision function that may refuse.
func (a *App) updateErr(ctx context.Context, player gamemesh.PlayerID, fn func(rec *gamev1.PlayerRecord) (bool, error)) (*gamev1.PlayerRecord, error) {
	var rec *gamev1.PlayerRecord
	_, err := functions.Update(ctx, a.store, recordKey(player), recordUpdate, func(cur []byte, exists bool) (*functions.Write, error) {
		var err error
		if rec, err = a.decode(player, cur, exists); err != nil {
			return nil, err
		}
		write, err := fn(rec)
		if err != nil {
			return nil, err
		}
		if !write && exists {
			return nil, nil
		}
		val, err := proto.MarshalOptions{Deterministic: true}.Marshal(rec)
		if err != nil {
			return nil, gamemesh.Wrap(gamemesh.CodeInternal, fmt.Errorf("encode %s: %w", recordKey(player), err), "encoding player record")
		}
		return &functions.Write{Value: val}, nil
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// forward passes a grants notice for a held player to its host's topic.
func (a *App) forward(ctx context.Context, player gamemesh.PlayerID, host string) error {
	if a.pub == nil {
		a.log.WarnContext(ctx, "grants wait for the holding host's next load", "player", player, "host", host)
		return nil
	}
	data, _ := proto.Marshal(&gamev1.GrantsPendingEvent{PlayerId: string(player)})
	if err := a.pub.Publish(ctx, HostGrantsTopic(host), gamemesh.Event{ID: gamemesh.NewID(), Data: data}); err != nil {
		return fmt.Errorf("forward grants of %s to %s: %w", player, host, err)
	}
	return nil
}
