package idip

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
)

// The audit log is append-only over the Store port, which has no key
// listing: a chain of numbered pages and a head naming the page being
// filled.
//
//	idip/audit/head       {"page": N}                 ETag-guarded, only ever moves forward
//	idip/audit/page/<n>   {"page": n, "entries": [...]} ETag-guarded, entries only appended
//
// An append reads the head, then the head page, and writes the page back
// with the new entries under its ETag; a full page (AuditPageSize entries)
// is never written again: the writer moves the head to the next page with a
// compare-and-set and appends there. So no entry is ever changed or removed,
// concurrent writers (several IDIP replicas) never lose one (a lost
// compare-and-set re-reads and retries), and every entry gets a sequence
// number page×AuditPageSize+index that orders the log. Within one process,
// appends are group-committed by one writer goroutine: a burst of requests
// costs one page write, not one each. Readers walk the pages from the head
// backwards.

// AuditPageSize is how many entries one page holds.
const AuditPageSize = 64

const (
	auditHeadKey = "idip/audit/head"
	// auditQueue bounds the entries waiting for the writer; requests wait for
	// room, which throttles a flood of (even unauthenticated) requests to the
	// store's write rate instead of dropping entries.
	auditQueue = 1024
	// auditRetryFor bounds how long a batch is retried while the store fails.
	auditRetryFor = 5 * time.Second
)

func auditPageKey(n int64) string { return "idip/audit/page/" + strconv.FormatInt(n, 10) }

// AuditEntry is one call of the API as the audit log records it.
type AuditEntry struct {
	// Seq orders the log (page × AuditPageSize + index).
	Seq int64 `json:"seq"`
	// ID is unique per entry: a retried append whose first write landed
	// after all (a lost acknowledgement) does not store it twice.
	ID string `json:"id"`
	// AtMs is when the call arrived (ms since the Unix epoch).
	AtMs int64 `json:"at_ms"`
	// Who made it: the operator named by the request's X-Idip-Operator
	// header, else the token's identity; "" for a call without a valid token.
	Who string `json:"who"`
	// Token is the identity of the token presented ("" if none was valid).
	Token string `json:"token,omitempty"`
	// ClaimedOperator is the operator header of a call refused for its token.
	ClaimedOperator string `json:"claimed_operator,omitempty"`
	// Remote is the caller's address.
	Remote string `json:"remote,omitempty"`
	// Node is the IDIP process that served it.
	Node string `json:"node,omitempty"`
	// Command is the API command ("player.ban", "notice", ...), or "unknown".
	Command string `json:"command"`
	// Serial is the request's serial (mutating commands).
	Serial string `json:"serial,omitempty"`
	// Player is the player the command acted on or asked about, if any.
	Player string `json:"player,omitempty"`
	// Args is what was asked, with long texts and script sources cut.
	Args json.RawMessage `json:"args,omitempty"`
	// Status and Code are the HTTP status and catalogue code of the answer.
	Status int    `json:"status"`
	Code   string `json:"code"`
	// Result is the error message, or a summary of what was done.
	Result string `json:"result,omitempty"`
	// Replay is set when the answer came from the serial's first execution.
	Replay bool `json:"replay,omitempty"`
	// DurationMs is how long the call took.
	DurationMs float64 `json:"duration_ms"`
}

type auditHead struct {
	Page int64 `json:"page"`
}

type auditPage struct {
	Page    int64        `json:"page"`
	Entries []AuditEntry `json:"entries"`
}

type auditReq struct {
	e    AuditEntry
	done chan error
}

// auditLog is the writer: append queues an entry and waits until it is
// stored.
type auditLog struct {
	store gamemesh.Store
	log   *slog.Logger
	now   func() time.Time

	mu      sync.Mutex
	queue   chan auditReq
	stopped chan struct{}
	closing bool

	cached *pageState // the writer goroutine's own
}

func newAuditLog(store gamemesh.Store, log *slog.Logger, now func() time.Time) *auditLog {
	return &auditLog{store: store, log: log, now: now}
}

func (l *auditLog) start() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.queue, l.stopped = make(chan auditReq, auditQueue), make(chan struct{})
	go l.run()
}

// stop lets the writer store what is queued, then ends it.
func (l *auditLog) stop(ctx context.Context) error {
	l.mu.Lock()
	if l.queue == nil || l.closing {
		l.mu.Unlock()
		return nil
	}
	l.closing = true
	close(l.queue)
	l.mu.Unlock()
	select {
	case <-l.stopped:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("idip audit: %w", ctx.Err())
	}
}

// append stores e and waits until it is stored. On failure the entry is
// logged in full (the process log is then its only record) and the error
// returned.
func (l *auditLog) append(ctx context.Context, e AuditEntry) error {
	if e.ID == "" {
		e.ID = gamemesh.NewID()
	}
	done := make(chan error, 1)
	l.mu.Lock()
	if l.queue == nil || l.closing {
		l.mu.Unlock()
		err := errors.New("idip audit: not running")
		l.lost(e, err)
		return err
	}
	// Sending under mu keeps stop from closing the queue meanwhile; the
	// writer never takes mu, so a full queue only waits for the writer.
	select {
	case l.queue <- auditReq{e: e, done: done}:
	case <-ctx.Done():
		l.mu.Unlock()
		l.lost(e, ctx.Err())
		return ctx.Err()
	}
	l.mu.Unlock()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		// The writer still stores it; the caller stops waiting.
		return ctx.Err()
	}
}

func (l *auditLog) lost(e AuditEntry, err error) {
	b, _ := json.Marshal(e)
	l.log.Error("audit entry NOT stored", "err", err, "entry", string(b))
}

func (l *auditLog) run() {
	defer close(l.stopped)
	for first := range l.queue {
		batch := []auditReq{first}
	more:
		for len(batch) < AuditPageSize {
			select {
			case r, ok := <-l.queue:
				if !ok {
					break more
				}
				batch = append(batch, r)
			default:
				break more
			}
		}
		err := l.commit(batch)
		for _, r := range batch {
			if err != nil {
				l.lost(r.e, err)
			}
			r.done <- err
		}
	}
}

// commit appends the entries of batch to the log, retrying store failures
// for up to auditRetryFor.
func (l *auditLog) commit(batch []auditReq) error {
	ctx, cancel := context.WithTimeout(context.Background(), auditRetryFor)
	defer cancel()
	entries := make([]AuditEntry, len(batch))
	for i, r := range batch {
		entries[i] = r.e
	}
	var lastErr error
	uncertain := int64(-1) // first page a failed write may have landed on
	for attempt := 0; len(entries) > 0; attempt++ {
		if attempt > 0 {
			if err := functions.Backoff(ctx, min(attempt, 10)); err != nil {
				return errors.Join(lastErr, err)
			}
		}
		n, err := l.appendOnce(ctx, entries, &uncertain)
		entries = entries[n:]
		if err != nil {
			lastErr = err
			continue
		}
		if n > 0 {
			attempt = -1 // progress: the next round starts afresh
		}
	}
	return nil
}
