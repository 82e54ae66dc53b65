package idip

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/directory"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// NoticeRequest is the request of "notice": one line shown to every online
// player on every gate (a system.notice push).
type NoticeRequest struct {
	Mutation
	Text string `json:"text"`
}

func (r *NoticeRequest) validate(*App) error { return directory.CheckNoticeText(r.Text) }
func (r *NoticeRequest) target() string      { return "" }
func (r *NoticeRequest) auditArgs() any      { return r }

// NoticeResult answers "notice": the notice's id (the same for every
// delivery, so clients show it once) and the gates it was sent to.
type NoticeResult struct {
	NoticeID string   `json:"notice_id"`
	Gates    []string `json:"gates"`
}

func (a *App) notice(ctx context.Context, c *call, r *NoticeRequest) (any, error) {
	gates, err := a.deps.Roster.Members(ctx, directory.KindGate)
	if err != nil {
		return nil, gamemesh.Wrap(gamemesh.CodeUnavailable, err, "roster unavailable")
	}
	id := requestID(c.serial)
	n := &gamev1.ServerNotice{Id: id, Text: r.Text, SentAtMs: c.at.UnixMilli()}
	res := &NoticeResult{NoticeID: id, Gates: []string{}}
	for _, g := range gates {
		if err := directory.PublishNotice(ctx, a.deps.Publisher, g.ID, id+"-"+g.ID, n); err != nil {
			return nil, gamemesh.Wrap(gamemesh.CodeUnavailable, err, fmt.Sprintf("notice not delivered to gate %s (sent to %v); send the same serial again", g.ID, res.Gates))
		}
		res.Gates = append(res.Gates, g.ID)
	}
	c.summary = fmt.Sprintf("notice %s to %d gate(s)", id, len(res.Gates))
	return res, nil
}

// OnlineQuery is the request of "online" (GET /v1/online).
type OnlineQuery struct{ read }

func (*OnlineQuery) validate(*App) error { return nil }
func (*OnlineQuery) target() string      { return "" }
func (*OnlineQuery) auditArgs() any      { return nil }

// GateOnline is one gate's count.
type GateOnline struct {
	ID     string    `json:"id"`
	Online int       `json:"online"`
	SeenAt time.Time `json:"seen_at"`
}

// OnlineResult answers "online": players online in total and per gate, as
// the gates last announced it in the roster (every few seconds).
type OnlineResult struct {
	Total int          `json:"total"`
	Gates []GateOnline `json:"gates"`
}

func (a *App) online(ctx context.Context, _ *call, _ *OnlineQuery) (any, error) {
	gates, err := a.deps.Roster.Members(ctx, directory.KindGate)
	if err != nil {
		return nil, gamemesh.Wrap(gamemesh.CodeUnavailable, err, "roster unavailable")
	}
	res := &OnlineResult{Gates: []GateOnline{}}
	for _, g := range gates {
		n, _ := strconv.Atoi(g.Info[directory.InfoOnline])
		res.Total += n
		res.Gates = append(res.Gates, GateOnline{ID: g.ID, Online: n, SeenAt: g.SeenAt})
	}
	return res, nil
}
