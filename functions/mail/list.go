package mail

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// Page sizes of list.
const (
	DefaultPageSize = 20
	MaxPageSize     = 50
)

// MaxPageBytes bounds the encoded mails of one page, so a page of large mails
// stays well inside a client's frame limit (64 KiB by default); a page that
// would exceed it ends early with a next-page token.
const MaxPageBytes = 32 << 10

// tokenPrefix versions the page token format.
const tokenPrefix = "c1:"

// A page token is the sequence number of the last mail of the previous page:
// the next page holds the mails with a lower one. Mails that arrive between
// pages have higher numbers and mails deleted between pages leave no hole,
// so paging never repeats or skips a mail that exists throughout.
func encodeToken(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(tokenPrefix + strconv.FormatInt(seq, 10)))
}

func decodeToken(tok string) (int64, bool) {
	if len(tok) > 64 {
		return 0, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	s, ok := strings.CutPrefix(string(raw), tokenPrefix)
	if !ok {
		return 0, false
	}
	seq, err := strconv.ParseInt(s, 10, 64)
	if err != nil || seq < 1 || strconv.FormatInt(seq, 10) != s {
		return 0, false
	}
	return seq, true
}

// list returns the caller's live mails, newest first, one page at a time.
func (a *App) list(ctx context.Context, req gamemesh.Request, in *gamev1.ListMailRequest) (*gamev1.ListMailResponse, error) {
	player, err := functions.Caller(req)
	if err != nil {
		return nil, err
	}
	size := int(in.GetPageSize())
	if size == 0 {
		size = DefaultPageSize
	}
	if size < 1 || size > MaxPageSize {
		return nil, invalid("page_size must be 1 to %d", MaxPageSize)
	}
	before := int64(-1) // no cursor: from the newest
	if in.GetPageToken() != "" {
		seq, ok := decodeToken(in.GetPageToken())
		if !ok {
			return nil, gamemesh.Errorf(gamemesh.CodeBadRequest, "bad page token")
		}
		before = seq
	}
	b, err := a.change(ctx, player, func(*box) (bool, error) { return false, nil })
	if err != nil {
		return nil, err
	}
	now := a.now()
	a.rerender(ctx, b.Mails)
	out := &gamev1.ListMailResponse{}
	var lastSeq int64
	pageBytes := 0
	for i := len(b.Mails) - 1; i >= 0; i-- {
		m := b.Mails[i]
		if m.expired(now) {
			continue
		}
		out.Total++
		if !m.Read {
			out.Unread++
		}
		if before >= 0 && m.Seq >= before {
			continue
		}
		pm := m.toProto()
		n := proto.Size(pm)
		if len(out.Mails) == size || (len(out.Mails) > 0 && pageBytes+n > MaxPageBytes) {
			out.NextPageToken = encodeToken(lastSeq) // there is more after this page
			continue
		}
		out.Mails = append(out.Mails, pm)
		pageBytes += n
		lastSeq = m.Seq
	}
	return out, nil
}
