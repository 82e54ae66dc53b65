package login

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gamemesh/gamemesh"
)

// maxAttempts bounds every read-modify-write loop on CONFLICT.
const maxAttempts = 16

// deviceRecord is the JSON value of login/device/<hash>.
type deviceRecord struct {
	Player      gamemesh.PlayerID `json:"player"`
	CreatedAtMs int64             `json:"created_at_ms"`
}

// accountRecord is the JSON value of login/account/<player>.
type accountRecord struct {
	Player      gamemesh.PlayerID `json:"player"`
	Device      string            `json:"device"` // sha256 hex of the device id
	CreatedAtMs int64             `json:"created_at_ms"`
	Ban         *banRecord        `json:"ban,omitempty"`
}

// banRecord is a ban on an account; UntilMs 0 means forever.
type banRecord struct {
	Reason  string `json:"reason"`
	UntilMs int64  `json:"until_ms"`
	AtMs    int64  `json:"at_ms"`
}

// active reports whether the ban still holds at now.
func (b *banRecord) active(now time.Time) bool {
	return b != nil && (b.UntilMs == 0 || now.UnixMilli() < b.UntilMs)
}

func deviceHash(deviceID string) string {
	sum := sha256.Sum256([]byte(deviceID))
	return hex.EncodeToString(sum[:])
}

func deviceKey(hash string) string               { return "login/device/" + hash }
func accountKey(player gamemesh.PlayerID) string { return "login/account/" + string(player) }

// storeErr turns a store failure into a client-facing error: a deadline stays
// DEADLINE_EXCEEDED, anything else is UNAVAILABLE (retry later).
func storeErr(err error, what string) error {
	if gamemesh.CodeOf(err) == gamemesh.CodeDeadlineExceeded {
		return gamemesh.Wrap(gamemesh.CodeDeadlineExceeded, err, what)
	}
	return gamemesh.Wrap(gamemesh.CodeUnavailable, err, what)
}

// busy is returned when a read-modify-write loop kept losing to concurrent writers.
func busy(what string) error {
	return gamemesh.Errorf(gamemesh.CodeConflict, "%s: too much contention, retry", what)
}

// getJSON reads key into v. found is false for a missing key.
func (a *App) getJSON(ctx context.Context, key string, v any) (etag string, found bool, err error) {
	item, err := a.store.Get(ctx, key)
	if errors.Is(err, gamemesh.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, storeErr(fmt.Errorf("get %s: %w", key, err), "store unavailable")
	}
	if err := json.Unmarshal(item.Value, v); err != nil {
		return "", false, gamemesh.Wrap(gamemesh.CodeInternal, fmt.Errorf("decode %s: %w", key, err), "corrupt record")
	}
	return item.ETag, true, nil
}

// setJSON writes v under key guarded by etag ("" = create only). It returns
// (false, nil) on CONFLICT so the caller re-reads and decides.
func (a *App) setJSON(ctx context.Context, key string, v any, etag string) (bool, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return false, gamemesh.Wrap(gamemesh.CodeInternal, fmt.Errorf("encode %s: %w", key, err), "encoding record")
	}
	err = a.store.Set(ctx, key, b, gamemesh.SetOptions{ETag: etag})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, gamemesh.ErrConflict):
		return false, nil
	default:
		return false, storeErr(fmt.Errorf("set %s: %w", key, err), "store unavailable")
	}
}
