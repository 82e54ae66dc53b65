package idip

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
)

// Serial numbers. Every mutating command carries a serial chosen by the
// operator's tool. Its first execution claims the serial with a create-only
// write of a "pending" record; when the command took effect, the record
// becomes "done" and holds the exact answer (status and body). The same
// serial again is answered from the record, byte for byte, without running
// anything; with another command or other arguments it is refused with
// CONFLICT. A duplicate that arrives while the first is still running waits
// for its answer. A command that was refused or failed releases its claim:
// nothing changed, and the same serial may be sent again (it runs again; the
// calls IDIP makes downstream carry request ids derived from the serial, so a
// failure after a partial effect is completed, not doubled). A claim whose
// executor died is taken over once it is older than the lease.
//
//	idip/serial/<serial> → serialRecord (JSON), TTL Config.SerialTTL

// MaxSerialLen caps a serial, in characters.
const MaxSerialLen = 64

const serialRule = "serial must be 1 to 64 characters of [A-Za-z0-9_.:-]"

func validSerial(s string) bool {
	if len(s) < 1 || len(s) > MaxSerialLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

func serialKey(serial string) string { return "idip/serial/" + serial }

// requestID derives the request id IDIP sends downstream for a serial (8 to
// 64 printable characters whatever the serial).
func requestID(serial string) string {
	sum := sha256.Sum256([]byte("idip-serial\x00" + serial))
	return "idip-" + hex.EncodeToString(sum[:20])
}

const (
	statePending = "pending"
	stateDone    = "done"
)

type serialRecord struct {
	Serial      string          `json:"serial"`
	Command     string          `json:"command"`
	Fingerprint string          `json:"fingerprint"`
	State       string          `json:"state"`
	Owner       string          `json:"owner,omitempty"`
	Who         string          `json:"who"`
	StartedAtMs int64           `json:"started_at_ms"`
	DoneAtMs    int64           `json:"done_at_ms,omitempty"`
	Status      int             `json:"status,omitempty"`
	Answer      json.RawMessage `json:"answer,omitempty"`
}

// claim is the right to execute a serial's command.
type claim struct {
	key  string
	etag string
	rec  serialRecord
}

// startedAt is the time the command is executed "at": the same for an
// execution that takes over a dead one, so durations end at the same time.
func (c *claim) startedAt() time.Time { return time.UnixMilli(c.rec.StartedAtMs) }

// storedAnswer is the answer of a serial already executed.
type storedAnswer struct {
	status int
	body   []byte
}

type serials struct {
	store gamemesh.Store
	now   func() time.Time
	ttl   time.Duration
	lease time.Duration
	wait  time.Duration
}

// pollPending is how often a duplicate re-reads a pending serial.
const pollPending = 20 * time.Millisecond

// begin claims serial for command (with the request's fingerprint), or
// returns the stored answer of its first execution, or refuses: CONFLICT
// for a serial used with another command or arguments, or still running
// after the wait; UNAVAILABLE when the store cannot be reached.
func (s serials) begin(ctx context.Context, serial, command, fingerprint, who string) (*claim, *storedAnswer, error) {
	key := serialKey(serial)
	deadline := time.Now().Add(s.wait)
	for attempt := 0; ; attempt++ {
		item, exists, err := functions.Read(ctx, s.store, key, "idip serial")
		if err != nil {
			return nil, nil, err
		}
		if !exists {
			rec := serialRecord{Serial: serial, Command: command, Fingerprint: fingerprint, State: statePending,
				Owner: gamemesh.NewID(), Who: who, StartedAtMs: s.now().UnixMilli()}
			if c, err := s.write(ctx, key, "", rec); c != nil || err != nil {
				return c, nil, err
			}
			continue // lost the race (or an outage seen as a conflict): re-read
		}
		var rec serialRecord
		if err := json.Unmarshal(item.Value, &rec); err != nil {
			return nil, nil, gamemesh.Wrap(gamemesh.CodeInternal, fmt.Errorf("decode %s: %w", key, err), "corrupt serial record")
		}
		if rec.Command != command || rec.Fingerprint != fingerprint {
			return nil, nil, gamemesh.Errorf(gamemesh.CodeConflict,
				"serial %s was already used for %s with other arguments (by %s); use a new serial", serial, rec.Command, rec.Who)
		}
		if rec.State == stateDone {
			return nil, &storedAnswer{status: rec.Status, body: rec.Answer}, nil
		}
		if s.now().Sub(time.UnixMilli(rec.StartedAtMs)) > s.lease {
			rec.Owner, rec.Who = gamemesh.NewID(), who // take over a dead executor, keeping its start time
			if c, err := s.write(ctx, key, item.ETag, rec); c != nil || err != nil {
				return c, nil, err
			}
			continue
		}
		if time.Now().After(deadline) {
			return nil, nil, gamemesh.Errorf(gamemesh.CodeConflict, "serial %s is still being executed by another request (by %s); retry later", serial, rec.Who)
		}
		if err := sleepCtx(ctx, pollPending); err != nil {
			return nil, nil, functions.StoreError(err, "idip serial wait interrupted")
		}
	}
}

// write stores a pending rec guarded by etag and re-reads it for its ETag.
// It returns (nil, nil) when the write lost to another writer.
func (s serials) write(ctx context.Context, key, etag string, rec serialRecord) (*claim, error) {
	data, err := json.Marshal(rec)
	if err != nil {
		return nil, gamemesh.Wrap(gamemesh.CodeInternal, err, "encoding serial record")
	}
	err = s.store.Set(ctx, key, data, gamemesh.SetOptions{ETag: etag, TTL: s.ttl})
	if errors.Is(err, gamemesh.ErrConflict) {
		return nil, nil
	}
	if err != nil {
		return nil, functions.StoreError(fmt.Errorf("set %s: %w", key, err), "idip serial store unavailable")
	}
	item, exists, err := functions.Read(ctx, s.store, key, "idip serial")
	if err != nil || !exists {
		return nil, err
	}
	var got serialRecord
	if json.Unmarshal(item.Value, &got) != nil || got.Owner != rec.Owner {
		return nil, nil
	}
	return &claim{key: key, etag: item.ETag, rec: rec}, nil
}

// finish records the answer of an executed claim. On failure the serial
// stays pending: duplicates wait, then take it over after the lease.
func (s serials) finish(ctx context.Context, c *claim, status int, answer []byte) error {
	rec := c.rec
	rec.State, rec.Owner, rec.DoneAtMs, rec.Status, rec.Answer = stateDone, "", s.now().UnixMilli(), status, answer
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := s.store.Set(ctx, c.key, data, gamemesh.SetOptions{ETag: c.etag, TTL: s.ttl}); err != nil {
		return fmt.Errorf("recording the answer of serial %s: %w", rec.Serial, err)
	}
	return nil
}

// release gives a claim up (the command changed nothing): the serial may be
// used again. On failure the claim is taken over after the lease.
func (s serials) release(ctx context.Context, c *claim) error {
	if err := s.store.Delete(ctx, c.key, c.etag); err != nil && !errors.Is(err, gamemesh.ErrConflict) {
		return fmt.Errorf("releasing serial %s: %w", c.rec.Serial, err)
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
