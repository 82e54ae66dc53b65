package mail

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// Server-wide mail. A broadcast is stored once, as
//
//	mail/bcast/<broadcast id>   the record: text, attachments, audience, times (create-only, immutable)
//	mail/bcast-index            the live broadcasts: [{id, exp}], at most Config.MaxLiveBroadcasts
//
// and reaches a player's box when that player next reads its mail (see
// deliver.go): nothing is written per player at send time.

const (
	indexKey = "mail/bcast-index"
	// maxFromLen bounds a broadcast's sender name, in bytes.
	maxFromLen = 32
	// recordTTLSlack keeps a broadcast record a while after its expiry.
	recordTTLSlack = 24 * time.Hour
)

func recordKey(id string) string { return "mail/bcast/" + id }

// broadcastIDFor derives a broadcast's id from its request id.
func broadcastIDFor(requestID string) string {
	h := sha256.New()
	writeField(h, "broadcast")
	writeField(h, requestID)
	return "b" + hex.EncodeToString(h.Sum(nil))[:24]
}

// audience is a broadcast's filter; zero bounds are unbounded.
type audience struct {
	MinLevel           int64 `json:"min_level,omitempty"`
	MaxLevel           int64 `json:"max_level,omitempty"`
	RegisteredBeforeMs int64 `json:"registered_before_ms,omitempty"`
}

func (au audience) any() bool { return au == audience{} }

// bcastRec is the JSON value of a broadcast record.
type bcastRec struct {
	ID          string            `json:"id"`
	RequestID   string            `json:"request_id"`
	Digest      string            `json:"digest"`
	From        string            `json:"from"`
	Subject     string            `json:"subject,omitempty"`
	Body        string            `json:"body,omitempty"`
	Tpl         string            `json:"tpl,omitempty"`
	Params      map[string]string `json:"params,omitempty"`
	Items       []itemRec         `json:"items,omitempty"`
	Audience    audience          `json:"audience"`
	SentAtMs    int64             `json:"sent_at_ms"`
	ExpiresAtMs int64             `json:"expires_at_ms"`
}

// indexRec is the JSON value of the broadcast index.
type indexRec struct {
	Live []indexEntry `json:"live,omitempty"`
}

type indexEntry struct {
	ID    string `json:"id"`
	ExpMs int64  `json:"exp"`
}

// prune drops the entries expired at now.
func (ix *indexRec) prune(now time.Time) bool {
	n := len(ix.Live)
	ix.Live = slices.DeleteFunc(ix.Live, func(e indexEntry) bool { return now.UnixMilli() >= e.ExpMs })
	return len(ix.Live) != n
}

var indexUpdate = functions.UpdateOptions{
	MaxAttempts: 32,
	Busy:        gamemesh.Errorf(gamemesh.CodeConflict, "broadcast index busy, retry"),
	What:        "mail",
}

// broadcast stores one server-wide mail (service method mail.broadcast).
// It is idempotent by request_id: the broadcast id derives from it; a retry
// finds the record and answers the same id (and completes the index entry a
// failure may have left out); the same request id with other content is
// INVALID_ARGUMENT.
func (a *App) broadcast(ctx context.Context, _ gamemesh.Request, in *gamev1.BroadcastMailRequest) (*gamev1.BroadcastMailResponse, error) {
	rec, err := a.checkBroadcast(in)
	if err != nil {
		return nil, err
	}
	if err := a.storeRecord(ctx, rec, in); err != nil {
		return nil, err
	}
	stored, err := a.loadRecord(ctx, rec.ID)
	if err != nil {
		return nil, err
	}
	if stored.Digest != rec.Digest {
		return nil, invalid("request_id already used for a different broadcast")
	}
	if err := a.indexBroadcast(ctx, stored); err != nil {
		return nil, err
	}
	a.log.InfoContext(ctx, "broadcast stored", "broadcast", stored.ID, "from", stored.From, "attachments", len(stored.Items),
		"expires_at_ms", stored.ExpiresAtMs, "audience", stored.Audience)
	return &gamev1.BroadcastMailResponse{BroadcastId: stored.ID}, nil
}

// checkBroadcast validates a broadcast request and builds its record
// (without the rendered text).
func (a *App) checkBroadcast(in *gamev1.BroadcastMailRequest) (*bcastRec, error) {
	if !validRequestID(in.GetRequestId()) {
		return nil, invalid("request_id must be %d to %d printable characters", minRequestIDLen, maxRequestIDLen)
	}
	if err := checkContent(in.GetSubject(), in.GetBody(), in.GetTemplate(), in.GetParams()); err != nil {
		return nil, err
	}
	items, err := a.checkItems(in.GetAttachments())
	if err != nil {
		return nil, err
	}
	if in.GetSubject() == "" && in.GetBody() == "" && in.GetTemplate() == "" && len(items) == 0 {
		return nil, invalid("empty mail")
	}
	from := in.GetFrom()
	if from == "" {
		from = SystemSender
	} else if !validText(from, maxFromLen, false) {
		return nil, invalid("from must be at most %d bytes of UTF-8 without control characters", maxFromLen)
	}
	au := in.GetAudience()
	switch {
	case au.GetMinLevel() < 0 || au.GetMaxLevel() < 0 || au.GetRegisteredBeforeMs() < 0:
		return nil, invalid("audience bounds must not be negative")
	case au.GetMaxLevel() > 0 && au.GetMinLevel() > au.GetMaxLevel():
		return nil, invalid("audience min_level exceeds max_level")
	}
	now := a.now()
	exp := in.GetExpiresAtMs()
	switch {
	case exp == 0:
		exp = now.Add(a.cfg.DefaultExpiry).UnixMilli()
	case exp < 0 || exp <= now.UnixMilli():
		return nil, invalid("expires_at_ms must be in the future")
	case exp > now.Add(a.cfg.MaxExpiry).UnixMilli():
		return nil, invalid("expires_at_ms must be within %v", a.cfg.MaxExpiry)
	}
	return &bcastRec{
		ID: broadcastIDFor(in.GetRequestId()), RequestID: in.GetRequestId(), Digest: broadcastDigest(in), From: from,
		Items: items, SentAtMs: now.UnixMilli(), ExpiresAtMs: exp,
		Audience: audience{MinLevel: au.GetMinLevel(), MaxLevel: au.GetMaxLevel(), RegisteredBeforeMs: au.GetRegisteredBeforeMs()},
	}, nil
}

// storeRecord writes a new broadcast record create-only, rendering its text
// first; an existing record (a retry, or a reused request id) is left alone.
func (a *App) storeRecord(ctx context.Context, rec *bcastRec, in *gamev1.BroadcastMailRequest) error {
	if _, exists, err := functions.Read(ctx, a.store, recordKey(rec.ID), "mail"); err != nil || exists {
		return err
	}
	if err := a.checkRoom(ctx, rec.ID); err != nil {
		return err
	}
	txt, err := a.render(ctx, in.GetSubject(), in.GetBody(), in.GetTemplate(), in.GetParams())
	if err != nil {
		return err
	}
	rec.Subject, rec.Body, rec.Tpl, rec.Params = txt.subject, txt.body, txt.tpl, txt.params
	val, err := json.Marshal(rec)
	if err != nil {
		return gamemesh.Wrap(gamemesh.CodeInternal, fmt.Errorf("encode broadcast %s: %w", rec.ID, err), "encoding broadcast")
	}
	ttl := time.Duration(rec.ExpiresAtMs-a.now().UnixMilli())*time.Millisecond + recordTTLSlack
	err = a.store.Set(ctx, recordKey(rec.ID), val, gamemesh.SetOptions{TTL: ttl})
	if err != nil && !errors.Is(err, gamemesh.ErrConflict) {
		return functions.StoreError(fmt.Errorf("set %s: %w", recordKey(rec.ID), err), "mail store unavailable")
	}
	// A conflict: a concurrent attempt created it first; the caller reads it.
	return nil
}

// checkRoom refuses a new broadcast early when the index is full.
func (a *App) checkRoom(ctx context.Context, id string) error {
	ix, err := a.readIndex(ctx)
	if err != nil {
		return err
	}
	ix.prune(a.now())
	if len(ix.Live) >= a.cfg.MaxLiveBroadcasts && !slices.ContainsFunc(ix.Live, func(e indexEntry) bool { return e.ID == id }) {
		return gamemesh.Errorf(gamemesh.CodeLimitReached, "too many live broadcasts (at most %d)", a.cfg.MaxLiveBroadcasts)
	}
	return nil
}

// indexBroadcast adds a stored broadcast to the index (once).
func (a *App) indexBroadcast(ctx context.Context, rec *bcastRec) error {
	_, err := functions.Update(ctx, a.store, indexKey, indexUpdate, func(cur []byte, exists bool) (*functions.Write, error) {
		ix, err := decodeIndex(cur, exists)
		if err != nil {
			return nil, err
		}
		pruned := ix.prune(a.now())
		if slices.ContainsFunc(ix.Live, func(e indexEntry) bool { return e.ID == rec.ID }) {
			if !pruned {
				return nil, nil
			}
		} else {
			if a.now().UnixMilli() >= rec.ExpiresAtMs {
				return nil, gamemesh.Errorf(gamemesh.CodeExpired, "broadcast expired")
			}
			if len(ix.Live) >= a.cfg.MaxLiveBroadcasts {
				return nil, gamemesh.Errorf(gamemesh.CodeLimitReached, "too many live broadcasts (at most %d)", a.cfg.MaxLiveBroadcasts)
			}
			ix.Live = append(ix.Live, indexEntry{ID: rec.ID, ExpMs: rec.ExpiresAtMs})
		}
		return encodeIndex(ix)
	})
	a.index.invalidate()
	return err
}

func decodeIndex(val []byte, exists bool) (*indexRec, error) {
	var ix indexRec
	if !exists {
		return &ix, nil
	}
	if err := json.Unmarshal(val, &ix); err != nil {
		return nil, gamemesh.Wrap(gamemesh.CodeInternal, fmt.Errorf("decode %s: %w", indexKey, err), "corrupt broadcast index")
	}
	return &ix, nil
}

func encodeIndex(ix *indexRec) (*functions.Write, error) {
	val, err := json.Marshal(ix)
	if err != nil {
		return nil, gamemesh.Wrap(gamemesh.CodeInternal, fmt.Errorf("encode %s: %w", indexKey, err), "encoding broadcast index")
	}
	return &functions.Write{Value: val}, nil
}

func (a *App) readIndex(ctx context.Context) (*indexRec, error) {
	item, exists, err := functions.Read(ctx, a.store, indexKey, "mail")
	if err != nil {
		return nil, err
	}
	return decodeIndex(item.Value, exists)
}

// liveBroadcasts returns the live index entries, from a copy at most
// Config.IndexCacheTTL old (this process's own broadcasts show at once).
func (a *App) liveBroadcasts(ctx context.Context) ([]indexEntry, error) {
	now := a.now()
	if live, ok := a.index.get(now, a.cfg.IndexCacheTTL); ok {
		return live, nil
	}
	gen := a.index.generation()
	ix, err := a.readIndex(ctx)
	if err != nil {
		return nil, err
	}
	ix.prune(now)
	a.index.put(gen, now, ix.Live)
	return ix.Live, nil
}

// indexCache is a process's short-lived copy of the broadcast index.
type indexCache struct {
	mu   sync.Mutex
	live []indexEntry
	at   time.Time
	ok   bool
	gen  int64 // bumped by invalidate, so a read that raced it is not kept
}

func (c *indexCache) get(now time.Time, ttl time.Duration) ([]indexEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.ok || now.Sub(c.at) >= ttl || now.Before(c.at) {
		return nil, false
	}
	return c.live, true
}

func (c *indexCache) generation() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

func (c *indexCache) put(gen int64, now time.Time, live []indexEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	c.live, c.at, c.ok = live, now, true
}

func (c *indexCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ok = false
	c.gen++
}

// recordCache keeps broadcast records (immutable once written) by id.
type recordCache struct {
	mu   sync.Mutex
	recs map[string]*bcastRec
}

// maxCachedRecords bounds the record cache; it is emptied when full.
const maxCachedRecords = 1024

func (c *recordCache) get(id string) *bcastRec {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.recs[id]
}

func (c *recordCache) put(r *bcastRec) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.recs == nil || len(c.recs) >= maxCachedRecords {
		c.recs = make(map[string]*bcastRec)
	}
	c.recs[r.ID] = r
}

// loadRecord reads a broadcast record (cached once read).
func (a *App) loadRecord(ctx context.Context, id string) (*bcastRec, error) {
	if r := a.records.get(id); r != nil {
		return r, nil
	}
	item, exists, err := functions.Read(ctx, a.store, recordKey(id), "mail")
	if err != nil {
		return nil, err
	}
	if !exists {
		return nil, gamemesh.Errorf(gamemesh.CodeNotFound, "no such broadcast")
	}
	var r bcastRec
	if err := json.Unmarshal(item.Value, &r); err != nil {
		return nil, gamemesh.Wrap(gamemesh.CodeInternal, fmt.Errorf("decode %s: %w", recordKey(id), err), "corrupt broadcast")
	}
	a.records.put(&r)
	return &r, nil
}

// broadcastDigest fingerprints a broadcast request, to tell a retry from a
// reused request id.
func broadcastDigest(in *gamev1.BroadcastMailRequest) string {
	h := sha256.New()
	writeField(h, in.GetSubject())
	writeField(h, in.GetBody())
	writeField(h, in.GetFrom())
	writeField(h, in.GetTemplate())
	writeField(h, paramsDigest(in.GetParams()))
	for _, it := range in.GetAttachments() {
		writeField(h, it.GetId())
		_ = binary.Write(h, binary.BigEndian, it.GetCount())
	}
	au := in.GetAudience()
	for _, v := range []int64{au.GetMinLevel(), au.GetMaxLevel(), au.GetRegisteredBeforeMs(), in.GetExpiresAtMs()} {
		_ = binary.Write(h, binary.BigEndian, v)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}
