package idip

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/directory"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// Sanction is a ban or a mute in force.
type Sanction struct {
	Reason string `json:"reason"`
	// UntilMs is when it ends (ms since the Unix epoch); 0 = forever.
	UntilMs int64 `json:"until_ms"`
	// AtMs is when it was set.
	AtMs int64 `json:"at_ms"`
}

func sanction(s *gamev1.Sanction) *Sanction {
	if s == nil {
		return nil
	}
	return &Sanction{Reason: s.GetReason(), UntilMs: s.GetUntilMs(), AtMs: s.GetAtMs()}
}

// PlayerQuery is the request of "player" (GET /v1/player?player_id=...).
type PlayerQuery struct {
	read
	PlayerID string `json:"player_id"`
}

func (q *PlayerQuery) fromQuery(v url.Values) error { q.PlayerID = v.Get("player_id"); return nil }
func (q *PlayerQuery) validate(*App) error          { return checkPlayerID(q.PlayerID) }
func (q *PlayerQuery) target() string               { return q.PlayerID }
func (q *PlayerQuery) auditArgs() any               { return q }

// PlayerInfo answers "player": the account (bans, mutes), the profile and
// inventory (from the player function), and where the player is online.
type PlayerInfo struct {
	PlayerID    string    `json:"player_id"`
	CreatedAtMs int64     `json:"created_at_ms"`
	Ban         *Sanction `json:"ban"`
	Mute        *Sanction `json:"mute"`
	Online      bool      `json:"online"`
	Gate        string    `json:"gate,omitempty"`
	Session     string    `json:"session,omitempty"`
	Name        string    `json:"name,omitempty"`
	Level       int64     `json:"level"`
	// Inventory maps item id to count (pending grants applied first).
	Inventory map[string]int64 `json:"inventory"`
	// ProfileError and LocationError say why a part is missing (its system
	// is down or switched off); the rest of the answer stands.
	ProfileError  string `json:"profile_error,omitempty"`
	LocationError string `json:"location_error,omitempty"`
}

func (a *App) queryPlayer(ctx context.Context, c *call, q *PlayerQuery) (any, error) {
	st, err := a.account(ctx, q.PlayerID)
	if err != nil {
		return nil, err
	}
	info := &PlayerInfo{PlayerID: q.PlayerID, CreatedAtMs: st.GetCreatedAtMs(), Ban: sanction(st.GetBan()), Mute: sanction(st.GetMute()),
		Inventory: map[string]int64{}}
	// The player function applies pending grants and returns the record
	// (player.applyGrants: a service method that is safe to repeat).
	var rec gamev1.ApplyGrantsResponse
	if err := a.invoke(ctx, "player", "applyGrants", "", &gamev1.ApplyGrantsRequest{PlayerId: q.PlayerID}, &rec); err != nil {
		info.ProfileError = gamemesh.MessageOf(err)
	} else if p := rec.GetPlayer(); p != nil {
		info.Name, info.Level = p.GetName(), p.GetLevel()
		for k, v := range p.GetInventory() {
			info.Inventory[k] = v
		}
	}
	loc, err := a.deps.Locator.Locate(ctx, gamemesh.PlayerID(q.PlayerID))
	switch {
	case err == nil:
		info.Online, info.Gate, info.Session = true, loc.Gate, loc.Session
	case !errors.Is(err, gamemesh.ErrNotFound):
		info.LocationError = gamemesh.MessageOf(err)
	}
	return info, nil
}

// SanctionRequest is the request of "player.ban" and "player.mute".
type SanctionRequest struct {
	Mutation
	PlayerID string `json:"player_id"`
	// Reason is shown to the player and recorded (required).
	Reason string `json:"reason"`
	// DurationS is how long it lasts, in seconds; 0 = forever.
	DurationS int64 `json:"duration_s"`
}

func (r *SanctionRequest) validate(*App) error {
	return errors.Join(checkPlayerID(r.PlayerID), checkText("reason", r.Reason, MaxReasonLen, true, false),
		checkDuration("duration_s", r.DurationS))
}
func (r *SanctionRequest) target() string { return r.PlayerID }
func (r *SanctionRequest) auditArgs() any { return r }

// PlayerRequest is the request of "player.unban" and "player.unmute".
type PlayerRequest struct {
	Mutation
	PlayerID string `json:"player_id"`
}

func (r *PlayerRequest) validate(*App) error { return checkPlayerID(r.PlayerID) }
func (r *PlayerRequest) target() string      { return r.PlayerID }
func (r *PlayerRequest) auditArgs() any      { return r }

// KickRequest is the request of "player.kick".
type KickRequest struct {
	Mutation
	PlayerID string `json:"player_id"`
	// Reason is shown to the player in the KICK frame (required).
	Reason string `json:"reason"`
}

func (r *KickRequest) validate(*App) error {
	return errors.Join(checkPlayerID(r.PlayerID), checkText("reason", r.Reason, MaxReasonLen, true, false))
}
func (r *KickRequest) target() string { return r.PlayerID }
func (r *KickRequest) auditArgs() any { return r }

// SanctionResult answers "player.ban" and "player.mute".
type SanctionResult struct {
	PlayerID string `json:"player_id"`
	UntilMs  int64  `json:"until_ms"`
	// Kicked is set when the player was online and its session was kicked
	// (bans only); Gate is where.
	Kicked bool   `json:"kicked"`
	Gate   string `json:"gate,omitempty"`
}

// KickResult answers "player.kick".
type KickResult struct {
	PlayerID string `json:"player_id"`
	Gate     string `json:"gate"`
	Session  string `json:"session"`
}

// DoneResult answers "player.unban" and "player.unmute".
type DoneResult struct {
	PlayerID string `json:"player_id"`
}

func (a *App) ban(ctx context.Context, c *call, r *SanctionRequest) (any, error) {
	if _, err := a.account(ctx, r.PlayerID); err != nil {
		return nil, err
	}
	until := untilMs(c.at, r.DurationS)
	if err := a.invoke(ctx, "login", "ban", requestID(c.serial), &gamev1.BanRequest{PlayerId: r.PlayerID, Reason: r.Reason, UntilMs: until}, &gamev1.BanResponse{}); err != nil {
		return nil, err
	}
	res := &SanctionResult{PlayerID: r.PlayerID, UntilMs: until}
	loc, online, err := a.kick(ctx, r.PlayerID, gamemesh.CodeBanned, "banned "+untilText(until)+": "+r.Reason)
	if err != nil {
		return nil, gamemesh.Wrap(gamemesh.CodeOf(err), err, fmt.Sprintf("banned, but the online session was not kicked (%s); send the same serial again", gamemesh.MessageOf(err)))
	}
	res.Kicked, res.Gate = online, loc.Gate
	c.summary = fmt.Sprintf("banned %s %s", r.PlayerID, untilText(until))
	if online {
		c.summary += ", kicked from " + loc.Gate
	}
	return res, nil
}

func (a *App) unban(ctx context.Context, c *call, r *PlayerRequest) (any, error) {
	if _, err := a.account(ctx, r.PlayerID); err != nil {
		return nil, err
	}
	if err := a.invoke(ctx, "login", "unban", requestID(c.serial), &gamev1.UnbanRequest{PlayerId: r.PlayerID}, &gamev1.BanResponse{}); err != nil {
		return nil, err
	}
	c.summary = "unbanned " + r.PlayerID
	return &DoneResult{PlayerID: r.PlayerID}, nil
}

func (a *App) mute(ctx context.Context, c *call, r *SanctionRequest) (any, error) {
	if _, err := a.account(ctx, r.PlayerID); err != nil {
		return nil, err
	}
	until := untilMs(c.at, r.DurationS)
	if err := a.invoke(ctx, "login", "mute", requestID(c.serial), &gamev1.MuteRequest{PlayerId: r.PlayerID, Reason: r.Reason, UntilMs: until}, &gamev1.MuteResponse{}); err != nil {
		return nil, err
	}
	c.summary = fmt.Sprintf("muted %s %s", r.PlayerID, untilText(until))
	return &SanctionResult{PlayerID: r.PlayerID, UntilMs: until}, nil
}

func (a *App) unmute(ctx context.Context, c *call, r *PlayerRequest) (any, error) {
	if _, err := a.account(ctx, r.PlayerID); err != nil {
		return nil, err
	}
	if err := a.invoke(ctx, "login", "unmute", requestID(c.serial), &gamev1.UnmuteRequest{PlayerId: r.PlayerID}, &gamev1.MuteResponse{}); err != nil {
		return nil, err
	}
	c.summary = "unmuted " + r.PlayerID
	return &DoneResult{PlayerID: r.PlayerID}, nil
}

func (a *App) kickCmd(ctx context.Context, c *call, r *KickRequest) (any, error) {
	if _, err := a.account(ctx, r.PlayerID); err != nil {
		return nil, err
	}
	loc, online, err := a.kick(ctx, r.PlayerID, gamemesh.CodeKicked, r.Reason)
	if err != nil {
		return nil, err
	}
	if !online {
		return nil, gamemesh.Errorf(gamemesh.CodeNotFound, "player %s is offline", r.PlayerID)
	}
	c.summary = fmt.Sprintf("kicked %s from %s", r.PlayerID, loc.Gate)
	return &KickResult{PlayerID: r.PlayerID, Gate: loc.Gate, Session: loc.Session}, nil
}

// kick closes player's session wherever it is; online is false when the
// player is offline (nothing to do).
func (a *App) kick(ctx context.Context, player string, code gamemesh.Code, reason string) (directory.Location, bool, error) {
	loc, err := a.deps.Locator.Locate(ctx, gamemesh.PlayerID(player))
	if errors.Is(err, gamemesh.ErrNotFound) {
		return directory.Location{}, false, nil
	}
	if err != nil {
		return directory.Location{}, false, gamemesh.Wrap(gamemesh.CodeUnavailable, err, "online directory unavailable")
	}
	if err := directory.PublishKick(ctx, a.deps.Publisher, gamemesh.PlayerID(player), loc, code, reason); err != nil {
		if gamemesh.CodeOf(err) == gamemesh.CodeInvalidArgument {
			return loc, false, err
		}
		return loc, false, gamemesh.Wrap(gamemesh.CodeUnavailable, err, "kick not delivered to "+loc.Gate)
	}
	return loc, true, nil
}
