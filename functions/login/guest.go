package login

import (
	"context"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// Device id limits.
const (
	minDeviceLen = 8
	maxDeviceLen = 128
)

// validDevice reports whether id is 8 to 128 printable ASCII characters
// (0x20–0x7E: no control characters, no bytes ≥ 0x80).
func validDevice(id string) bool {
	if len(id) < minDeviceLen || len(id) > maxDeviceLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x20 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// guest logs a device in, creating its account on first use, and signs a
// ticket. Every step is create-only or read-only, so the call is idempotent.
func (a *App) guest(ctx context.Context, _ gamemesh.Request, in *gamev1.GuestLoginRequest) (*gamev1.GuestLoginResponse, error) {
	if !validDevice(in.GetDeviceId()) {
		return nil, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "device_id must be %d to %d printable ASCII characters", minDeviceLen, maxDeviceLen)
	}
	hash := deviceHash(in.GetDeviceId())
	player, created, err := a.devicePlayer(ctx, hash)
	if err != nil {
		return nil, err
	}
	acct, err := a.ensureAccount(ctx, player, hash)
	if err != nil {
		return nil, err
	}
	now := a.now()
	if acct.Ban.active(now) {
		return nil, bannedError(acct.Ban)
	}
	tok, claims, err := a.signer.Sign(player, now)
	if err != nil {
		return nil, gamemesh.Wrap(gamemesh.CodeInternal, err, "cannot sign ticket")
	}
	if created {
		a.log.InfoContext(ctx, "guest account created", "player", player)
	}
	return &gamev1.GuestLoginResponse{
		PlayerId:    string(player),
		Ticket:      tok,
		ExpiresAtMs: claims.ExpiresAt.UnixMilli(),
		Created:     created,
	}, nil
}

func bannedError(b *banRecord) error {
	if b.UntilMs == 0 {
		return gamemesh.Errorf(gamemesh.CodeBanned, "account banned permanently: %s", b.Reason)
	}
	until := time.UnixMilli(b.UntilMs).UTC().Format(time.RFC3339)
	return gamemesh.Errorf(gamemesh.CodeBanned, "account banned until %s: %s", until, b.Reason)
}

// devicePlayer returns the player id of a device, creating the mapping with a
// create-only write on first use. created is true when this call created it.
// A CONFLICT means another first login won (or, on some backends, an outage):
// functions.Update re-reads and decides again.
func (a *App) devicePlayer(ctx context.Context, hash string) (player gamemesh.PlayerID, created bool, err error) {
	key := deviceKey(hash)
	_, err = functions.Update(ctx, a.store, key, updateOptions("device login"), func(cur []byte, exists bool) (*functions.Write, error) {
		var rec deviceRecord
		if exists {
			if err := decodeJSON(key, cur, &rec); err != nil {
				return nil, err
			}
			if !rec.Player.Valid() {
				return nil, gamemesh.Errorf(gamemesh.CodeInternal, "corrupt device record")
			}
			player, created = rec.Player, false
			return nil, nil
		}
		rec = deviceRecord{Player: gamemesh.NewPlayerID(), CreatedAtMs: a.now().UnixMilli()}
		player, created = rec.Player, true
		return writeJSON(key, rec)
	})
	if err != nil {
		return "", false, err
	}
	return player, created, nil
}

// ensureAccount returns the account record of player, creating it
// create-only if it does not exist yet.
func (a *App) ensureAccount(ctx context.Context, player gamemesh.PlayerID, hash string) (*accountRecord, error) {
	key := accountKey(player)
	var rec accountRecord
	_, err := functions.Update(ctx, a.store, key, updateOptions("account creation"), func(cur []byte, exists bool) (*functions.Write, error) {
		if exists {
			rec = accountRecord{}
			return nil, decodeJSON(key, cur, &rec)
		}
		rec = accountRecord{Player: player, Device: hash, CreatedAtMs: a.now().UnixMilli()}
		return writeJSON(key, rec)
	})
	if err != nil {
		return nil, err
	}
	return &rec, nil
}
