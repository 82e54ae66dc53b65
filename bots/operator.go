package bots

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions/idip"
)

// Routes of the operator's IDIP commands in the report: "idip." + command.
const (
	RouteIDIPOnline  = "idip.online"
	RouteIDIPNotice  = "idip.notice"
	RouteIDIPGrant   = "idip.grant"
	RouteIDIPMailAll = "idip.mail.all"
)

// DefaultOperatorEvery is the interval between two IDIP commands of the
// operator when Config.OperatorEvery is 0.
const DefaultOperatorEvery = time.Second

// operator is the optional live-ops actor of a run (Config.IDIP): while the
// bots play, it calls one IDIP command every OperatorEvery, in turn: the
// online count, a server notice, a grant of gold to a random bot, and a
// server-wide mail with an attachment. Each call is recorded like a bot's,
// under its "idip.<command>" route.
type operator struct {
	cfg *Config
	rec *recorder
	dir *directory
	cli *idip.Client
	rng *rand.Rand
	log *slog.Logger
	// turn picks the next command; serials counts the changing ones.
	turn, serials int
}

func newOperator(cfg *Config, rec *recorder, dir *directory, hc *http.Client, log *slog.Logger) *operator {
	return &operator{cfg: cfg, rec: rec, dir: dir, rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x0b5)),
		cli: &idip.Client{URL: cfg.IDIP, Token: cfg.IDIPToken, Operator: "bots-" + cfg.Prefix, HTTP: hc},
		log: log.With("actor", "operator")}
}

// run calls commands until play ends; abort cancels a call in flight.
func (o *operator) run(abort, play context.Context) {
	t := time.NewTicker(o.cfg.OperatorEvery)
	defer t.Stop()
	for {
		select {
		case <-play.Done():
			return
		case <-t.C:
		}
		o.step(abort)
	}
}

func (o *operator) serial() idip.Mutation {
	o.serials++
	return idip.Mutation{Serial: fmt.Sprintf("bots-%s-%d", o.cfg.Prefix, o.serials)}
}

// step runs the next command of the rotation.
func (o *operator) step(abort context.Context) {
	ctx, cancel := context.WithTimeout(abort, o.cfg.CallTimeout)
	defer cancel()
	var route string
	var err error
	began := time.Now()
	o.turn++
	switch o.turn % 4 {
	case 1:
		route = RouteIDIPOnline
		_, err = o.cli.Get(ctx, "online", nil, nil)
	case 2:
		route = RouteIDIPNotice
		_, err = o.cli.Post(ctx, "notice", idip.NoticeRequest{Mutation: o.serial(), Text: "bots: operator notice " + time.Now().UTC().Format(time.TimeOnly)}, nil)
	case 3:
		player := o.dir.pick(o.rng, "")
		if player == "" {
			return // nobody logged in yet: no grant this round
		}
		route = RouteIDIPGrant
		_, err = o.cli.Post(ctx, "grant", idip.GrantRequest{Mutation: o.serial(), PlayerID: string(player), Items: []idip.Item{{ID: "gold", Count: 10}}}, nil)
	default:
		route = RouteIDIPMailAll
		_, err = o.cli.Post(ctx, "mail.all", idip.MailAllRequest{Mutation: o.serial(), Subject: "Operator gift",
			Body: "From the bots' operator", Attachments: []idip.Item{{ID: "potion", Count: 1}}}, nil)
	}
	if abort.Err() != nil {
		return
	}
	o.rec.observe(route, time.Since(began), err)
	if err != nil {
		o.log.Debug("IDIP command failed", "route", route, "code", gamemesh.CodeOf(err).String(), "err", err)
	}
}
