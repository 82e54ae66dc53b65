package achievement

import (
	"context"
	"errors"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// errFeatureOff keeps events queued while the feature is switched off.
var errFeatureOff = gamemesh.Errorf(gamemesh.CodeFeatureDisabled, "achievement is switched off")

// HandleEvent consumes one game.events event (registered by Register). A
// malformed event is logged and acknowledged: redelivery cannot fix it. While
// the feature is off, a rule fails or the store is down, it returns an error
// so that the event stays queued and is redelivered.
func (a *App) HandleEvent(ctx context.Context, ev gamemesh.Event) error {
	if a.feat != nil && !a.feat.Enabled(AppName) {
		return errFeatureOff
	}
	in := new(gamev1.GameEvent)
	if err := proto.Unmarshal(ev.Data, in); err != nil {
		a.log.ErrorContext(ctx, "dropping undecodable game event", "event", ev.ID, "err", err)
		return nil
	}
	if in.GetId() == "" {
		in.Id = ev.ID
	}
	if err := checkEvent(in); err != nil {
		a.log.ErrorContext(ctx, "dropping malformed game event", "event", ev.ID, "err", err)
		return nil
	}
	_, err := a.apply(ctx, gamemesh.PlayerID(in.GetPlayerId()), []*gamev1.GameEvent{in})
	return err
}

// record applies one event synchronously (service method achievement.record).
func (a *App) record(ctx context.Context, _ gamemesh.Request, in *gamev1.GameEvent) (*gamev1.RecordEventResponse, error) {
	if err := checkEvent(in); err != nil {
		return nil, err
	}
	out, err := a.apply(ctx, gamemesh.PlayerID(in.GetPlayerId()), []*gamev1.GameEvent{in})
	if err != nil {
		return nil, err
	}
	resp := &gamev1.RecordEventResponse{Duplicate: out.applied == 0, PendingRewards: int32(len(out.rec.pending()))}
	for _, u := range out.unlocked {
		if cur := out.rec.unlocked(u.ID); cur != nil {
			u = *cur
		}
		resp.Unlocked = append(resp.Unlocked, u.proto())
	}
	return resp, nil
}

// list answers the caller's progress counters and unlocked achievements,
// first retrying any pending reward mail (best effort).
func (a *App) list(ctx context.Context, req gamemesh.Request, _ *gamev1.ListAchievementsRequest) (*gamev1.ListAchievementsResponse, error) {
	p, err := functions.Caller(req)
	if err != nil {
		return nil, err
	}
	rec, err := a.load(ctx, p)
	if err != nil {
		return nil, err
	}
	if flushed, err := a.flush(ctx, p, rec); err == nil {
		rec = flushed
	} else if !errors.Is(err, context.Canceled) {
		a.log.WarnContext(ctx, "clearing sent rewards failed", "player", p, "err", err)
	}
	resp := &gamev1.ListAchievementsResponse{Counters: rec.counters()}
	for _, u := range rec.Unlocked {
		resp.Achievements = append(resp.Achievements, u.proto())
	}
	return resp, nil
}
