package login

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
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
	Mute        *banRecord        `json:"mute,omitempty"`
}

// banRecord is a ban (or a mute) on an account; UntilMs 0 means forever.
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

// busy is returned when a read-modify-write loop kept losing to concurrent writers.
func busy(what string) error {
	return gamemesh.Errorf(gamemesh.CodeConflict, "%s: too much contention, retry", what)
}

// updateOptions shapes a read-modify-write loop; what names it in the
// error returned when it keeps losing to concurrent writers.
func updateOptions(what string) functions.UpdateOptions {
	return functions.UpdateOptions{MaxAttempts: maxAttempts, Busy: busy(what), What: "login"}
}

// getJSON reads key into v. found is false for a missing key.
func (a *App) getJSON(ctx context.Context, key string, v any) (found bool, err error) {
	item, found, err := functions.Read(ctx, a.store, key, "login")
	if err != nil || !found {
		return false, err
	}
	return true, decodeJSON(key, item.Value, v)
}

// decodeJSON decodes the stored value of key into v.
func decodeJSON(key string, val []byte, v any) error {
	if err := json.Unmarshal(val, v); err != nil {
		return gamemesh.Wrap(gamemesh.CodeInternal, fmt.Errorf("decode %s: %w", key, err), "corrupt record")
	}
	return nil
}

// writeJSON is the functions.Write of v as the next value of key.
func writeJSON(key string, v any) (*functions.Write, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, gamemesh.Wrap(gamemesh.CodeInternal, fmt.Errorf("encode %s: %w", key, err), "encoding record")
	}
	return &functions.Write{Value: b}, nil
}
