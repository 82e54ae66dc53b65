package idip

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
)

// appendOnce makes one attempt: it appends as many entries as fit on the
// head page and returns how many it stored. A full head page moves the head.
// *uncertain is the first page a failed write of these entries may have
// landed on (-1: none): entries found on the pages from there to the head
// were stored after all (a lost answer) and are not appended again, even if
// other writers moved the head since.
func (l *auditLog) appendOnce(ctx context.Context, entries []AuditEntry, uncertain *int64) (int, error) {
	head, headTag, err := l.readHead(ctx)
	if err != nil {
		return 0, err
	}
	stored := map[string]bool{}
	for p := max(*uncertain, 0); *uncertain >= 0 && p < head.Page; p++ {
		item, exists, err := functions.Read(ctx, l.store, auditPageKey(p), "idip audit")
		if err != nil {
			return 0, err
		}
		var old auditPage
		if exists && json.Unmarshal(item.Value, &old) == nil {
			for _, e := range old.Entries {
				stored[e.ID] = true
			}
		}
	}
	item, exists, err := functions.Read(ctx, l.store, auditPageKey(head.Page), "idip audit")
	if err != nil {
		return 0, err
	}
	page, err := l.decodePage(head.Page, item.Value, exists)
	if err != nil {
		return 0, err
	}
	done := 0
	for done < len(entries) && (stored[entries[done].ID] || page.ids[entries[done].ID]) {
		done++ // stored by an earlier attempt whose answer was lost
	}
	entries = entries[done:]
	if len(entries) == 0 {
		return done, nil
	}
	room := AuditPageSize - page.count
	if room <= 0 {
		next, _ := json.Marshal(auditHead{Page: head.Page + 1})
		if err := l.store.Set(ctx, auditHeadKey, next, gamemesh.SetOptions{ETag: headTag}); err != nil && !errors.Is(err, gamemesh.ErrConflict) {
			return done, err
		}
		return done, errRetry // the head moved (or someone else moved it): again
	}
	n := min(room, len(entries))
	next := page.clone()
	for i := range n {
		e := entries[i]
		e.Seq = head.Page*AuditPageSize + int64(next.count)
		if err := next.add(e); err != nil {
			return done, err
		}
	}
	if err := l.store.Set(ctx, auditPageKey(head.Page), next.raw, gamemesh.SetOptions{ETag: item.ETag}); err != nil {
		l.cached = nil
		if *uncertain < 0 {
			*uncertain = head.Page
		}
		return done, err
	}
	l.cached = next
	*uncertain = -1
	return done + n, nil
}

// pageState is the head page as the writer appends to it: its JSON (the
// stored bytes, {"page":N,"entries":[...]}), its entry count and ids. The
// writer keeps the last page it wrote, so an append re-reads the page (for
// its ETag) but decodes it again only when another writer changed it.
type pageState struct {
	page  int64
	raw   []byte
	count int
	ids   map[string]bool
}

// decodePage returns the state of page n from its stored bytes.
func (l *auditLog) decodePage(n int64, raw []byte, exists bool) (*pageState, error) {
	if c := l.cached; c != nil && exists && c.page == n && bytes.Equal(c.raw, raw) {
		return c, nil
	}
	st := &pageState{page: n, ids: map[string]bool{}}
	var p auditPage
	if exists {
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, gamemesh.Wrap(gamemesh.CodeInternal, err, "corrupt audit page")
		}
	}
	p.Page = n
	if p.Entries == nil {
		p.Entries = []AuditEntry{}
	}
	var err error
	if st.raw, err = json.Marshal(p); err != nil {
		return nil, err
	}
	st.count = len(p.Entries)
	for _, e := range p.Entries {
		st.ids[e.ID] = true
	}
	return st, nil
}

func (s *pageState) clone() *pageState {
	ids := make(map[string]bool, len(s.ids)+1)
	for k := range s.ids {
		ids[k] = true
	}
	return &pageState{page: s.page, raw: bytes.Clone(s.raw), count: s.count, ids: ids}
}

// add appends e to the page's JSON: the entries array is the last field, so
// the entry goes before the closing "]}".
func (s *pageState) add(e AuditEntry) error {
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if !bytes.HasSuffix(s.raw, []byte("]}")) {
		return errors.New("idip audit: unexpected page encoding")
	}
	raw := s.raw[:len(s.raw)-2]
	if s.count > 0 {
		raw = append(raw, ',')
	}
	raw = append(append(raw, data...), ']', '}')
	s.raw, s.count, s.ids[e.ID] = raw, s.count+1, true
	return nil
}

var errRetry = errors.New("idip audit: retry")

// readHead returns the head, creating it (page 0) on first use.
func (l *auditLog) readHead(ctx context.Context) (auditHead, string, error) {
	for range 3 {
		item, exists, err := functions.Read(ctx, l.store, auditHeadKey, "idip audit")
		if err != nil {
			return auditHead{}, "", err
		}
		if exists {
			var h auditHead
			if err := json.Unmarshal(item.Value, &h); err != nil {
				return auditHead{}, "", gamemesh.Wrap(gamemesh.CodeInternal, err, "corrupt audit head")
			}
			return h, item.ETag, nil
		}
		data, _ := json.Marshal(auditHead{})
		if err := l.store.Set(ctx, auditHeadKey, data, gamemesh.SetOptions{}); err != nil && !errors.Is(err, gamemesh.ErrConflict) {
			return auditHead{}, "", err
		}
	}
	return auditHead{}, "", errRetry
}
