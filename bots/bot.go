package bots

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/client"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// Routes the bots call.
const (
	RouteMailSend  = "mail.send"
	RouteMailList  = "mail.list"
	RouteMailClaim = "mail.claim"
	RouteMailRead  = "mail.read"
	RoutePlayerGet = "player.get"
	// RouteAchievementList lists the player's achievements.
	RouteAchievementList = "achievement.list"
	// PushMailNew is the push that announces a new mail.
	PushMailNew = "mail.new"
)

const (
	minBackoff = 500 * time.Millisecond
	maxBackoff = 5 * time.Second
	// readOneIn: a bot reads one unread mail on one list in readOneIn.
	readOneIn = 4
	// getEvery: player.get every getEvery mail intervals (and after claims).
	getEvery = 3
	listPage = 50
)

// bot is one simulated player. Its methods run on its own goroutine.
type bot struct {
	index  int
	device string
	cfg    *Config
	rec    *recorder
	dir    *directory
	guilds *guildBoard
	hc     *http.Client
	rng    *rand.Rand
	log    *slog.Logger

	conn     *client.Conn
	self     gamemesh.PlayerID
	loggedIn bool
	newMail  chan struct{} // a mail.new push arrived (capacity 1)
	guild    string        // the guild this bot is in, "" when none
	leader   bool          // this bot founded its guild
	// guildKnown: the bot asked which guild its player is in (once per run).
	guildKnown bool
	rt         *botScene // realtime play (realtime.go)
}

// run plays until play ends; abort (the caller's context) cancels calls in flight.
func (b *bot) run(abort, play context.Context, delay time.Duration) {
	if !sleep(play, delay) {
		return
	}
	backoff := minBackoff
	for play.Err() == nil {
		if err := b.connect(abort, play); err != nil {
			if !sleep(play, b.jitter(backoff)) {
				return
			}
			backoff = min(2*backoff, maxBackoff)
			continue
		}
		backoff = minBackoff
		lost := b.play(abort, play)
		b.conn.Close()
		b.conn = nil
		b.rec.online.Add(-1)
		if lost == nil {
			return
		}
		if abort.Err() == nil {
			b.rec.sessionLost(lost)
			b.log.Warn("session lost", "err", lost)
		}
		if !sleep(play, b.jitter(minBackoff)) {
			return
		}
	}
}

// connect gets a ticket and logs in; a failure is recorded.
func (b *bot) connect(abort, play context.Context) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(abort, b.cfg.CallTimeout)
	tk, err := client.GuestLoginWith(ctx, b.hc, b.cfg.HTTP, b.device)
	cancel()
	if err == nil {
		// The gate may queue the login: wait as long as the run lasts.
		b.conn, err = client.Dial(play, b.cfg.Addr, tk.Ticket, client.Options{OnPush: b.onPush})
	}
	if abort.Err() != nil {
		return abort.Err()
	}
	if gamemesh.CodeOf(err) == gamemesh.CodeRateLimited {
		// The gate paces guest logins (a login storm is its job to absorb):
		// back off and try again, as a real client does; not a failure.
		b.rec.loginsPaced.Add(1)
		return err
	}
	b.rec.observe(loginRoute, time.Since(start), err)
	if err != nil {
		b.log.Warn("login failed", "err", err)
		return err
	}
	b.self = b.conn.PlayerID()
	b.dir.add(b.self)
	b.rec.online.Add(1)
	if b.loggedIn {
		b.rec.reconnects.Add(1)
	} else {
		b.loggedIn = true
		b.rec.loginsOK.Add(1)
	}
	return nil
}

func (b *bot) onPush(route string, body []byte) {
	if b.rt.push(route, body) {
		return
	}
	if route != PushMailNew {
		return
	}
	b.rec.pushes.Add(1)
	select {
	case b.newMail <- struct{}{}:
	default:
	}
}

// play runs the session until play ends (nil) or the session does (its reason).
func (b *bot) play(abort, play context.Context) error {
	every := b.cfg.MailEvery
	// Entering the game loads the player record (and, for a new player, sends
	// the welcome gift mail that the bot claims later).
	b.getPlayer(abort)
	b.guildTick(abort)
	defer b.startScene(abort, play)()
	send := time.NewTimer(b.jitter(every))
	list := time.NewTimer(b.jitter(every))
	get := time.NewTimer(b.jitter(getEvery * every))
	guild := time.NewTimer(b.jitter(getEvery * every))
	defer guild.Stop()
	defer send.Stop()
	defer list.Stop()
	defer get.Stop()
	for {
		select {
		case <-play.Done():
			return nil
		case <-b.conn.Done():
			return b.conn.Err()
		case <-send.C:
			b.sendMail(abort)
			send.Reset(b.jitter(every))
		case <-list.C:
			b.checkMail(abort)
			list.Reset(b.jitter(every))
		case <-b.newMail:
			b.checkMail(abort)
		case <-guild.C:
			b.guildTick(abort)
			guild.Reset(b.jitter(getEvery * every))
		case <-get.C:
			b.getPlayer(abort)
			b.achievements(abort)
			get.Reset(b.jitter(getEvery * every))
		}
	}
}

func (b *bot) sendMail(ctx context.Context) {
	to := b.dir.pick(b.rng, b.self)
	err := b.callExpecting(ctx, RouteMailSend, &gamev1.SendMailRequest{
		To:        string(to),
		Subject:   fmt.Sprintf("hello from bot %d", b.index),
		Body:      "a note from a gamemesh bot",
		RequestId: gamemesh.NewID(),
	}, &gamev1.SendMailResponse{}, mailQuotaCodes...)
	b.countQuota(err) // mailbox.go
}

// checkMail lists the first page, claims every unclaimed attachment, sometimes
// reads an unread mail, and looks at the inventory after claiming.
func (b *bot) checkMail(ctx context.Context) {
	var resp gamev1.ListMailResponse
	if b.call(ctx, RouteMailList, &gamev1.ListMailRequest{PageSize: listPage}, &resp) != nil {
		return
	}
	claimed := b.claimAttachments(ctx, resp.GetMails()) // mailbox.go
	b.readServerMail(ctx, resp.GetMails())
	var unread []string
	for _, m := range resp.GetMails() {
		if !m.GetRead() && !m.GetClaimed() && m.GetBroadcastId() == "" {
			unread = append(unread, m.GetId())
		}
	}
	if len(unread) > 0 && b.rng.IntN(readOneIn) == 0 {
		id := unread[b.rng.IntN(len(unread))]
		_ = b.call(ctx, RouteMailRead, &gamev1.ReadMailRequest{MailId: id}, &gamev1.ReadMailResponse{})
	}
	if claimed {
		b.getPlayer(ctx)
	}
}

func (b *bot) getPlayer(ctx context.Context) {
	_ = b.call(ctx, RoutePlayerGet, &gamev1.GetPlayerRequest{}, &gamev1.GetPlayerResponse{})
}

// achievements looks at the player's achievements (its first mail unlocks one,
// whose reward arrives by mail and is claimed like any other).
func (b *bot) achievements(ctx context.Context) {
	_ = b.call(ctx, RouteAchievementList, &gamev1.ListAchievementsRequest{}, &gamev1.ListAchievementsResponse{})
}

// call makes one call and records it, unless the run was aborted.
func (b *bot) call(abort context.Context, route string, in, out proto.Message) error {
	return b.callExpecting(abort, route, in, out)
}

// callExpecting is call where the given codes are expected answers, recorded
// as successes (and still returned to the caller).
func (b *bot) callExpecting(abort context.Context, route string, in, out proto.Message, expected ...gamemesh.Code) error {
	ctx, cancel := context.WithTimeout(abort, b.cfg.CallTimeout)
	defer cancel()
	start := time.Now()
	err := b.conn.Call(ctx, route, in, out)
	if abort.Err() == nil {
		recorded := err
		if err != nil && slices.Contains(expected, gamemesh.CodeOf(err)) {
			recorded = nil
		}
		b.rec.observe(route, time.Since(start), recorded)
	}
	return err
}

// jitter returns d scaled by a random factor in [0.5, 1.5).
func (b *bot) jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.5 + b.rng.Float64()))
}

// sleep waits d or until ctx ends; false if ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
