package bots

import (
	"time"

	"github.com/gamemesh/gamemesh"
)

// Defaults for the zero values of Config.
const (
	DefaultMailEvery   = 2 * time.Second
	DefaultCallTimeout = 5 * time.Second
	// maxStagger is the longest spread of the bots' first logins.
	maxStagger = 2 * time.Second
	// staggerStep is the gap between two bots' first logins when the spread
	// is not capped.
	staggerStep = 10 * time.Millisecond
	maxPlayers  = 100_000
)

// Config describes one run.
type Config struct {
	// Players is the number of bots, 1 to 100 000.
	Players int
	// Duration is how long the bots play, counted from the start of the run.
	Duration time.Duration
	// Addr is the gate: "tcp://host:port" or "ws://host:port/ws".
	Addr string
	// HTTP is the base URL of the guest login endpoint ("http://host:port").
	HTTP string
	// Prefix starts every device id ("Prefix-<i>"); a random one per run when
	// empty. 1 to 64 characters of [A-Za-z0-9_.-].
	Prefix string
	// MailEvery is the mean interval between two mails of one bot (jittered
	// ±50 %); DefaultMailEvery when 0.
	MailEvery time.Duration
	// Seed makes the bots' choices repeatable; 0 picks one from the clock.
	Seed int64
	// CallTimeout bounds each call and each guest login (DefaultCallTimeout when 0).
	CallTimeout time.Duration
	// Stagger is the spread of the first logins: bot i starts at
	// i×Stagger/Players. 0 means 10 ms per bot, at most 2 s and at most a
	// quarter of Duration.
	Stagger time.Duration
	// IDIP, when set, is the base URL of the IDIP API: an operator then
	// calls IDIP commands during the run (see operator.go), with IDIPToken,
	// one every OperatorEvery (DefaultOperatorEvery when 0).
	IDIP, IDIPToken string
	OperatorEvery   time.Duration
	// Scene is the movement/combat mix (realtime.go).
	Scene SceneMix
}

// withDefaults validates c and fills its zero values.
func (c Config) withDefaults() (Config, error) {
	switch {
	case c.Players < 1 || c.Players > maxPlayers:
		return c, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "players must be 1 to %d, got %d", maxPlayers, c.Players)
	case c.Duration <= 0:
		return c, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "duration must be positive, got %v", c.Duration)
	case c.Addr == "":
		return c, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "gate address is required")
	case c.HTTP == "":
		return c, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "login HTTP base is required")
	case c.MailEvery < 0 || c.CallTimeout < 0 || c.Stagger < 0 || c.OperatorEvery < 0:
		return c, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "intervals must not be negative")
	case c.IDIP != "" && c.IDIPToken == "":
		return c, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "the IDIP operator needs the admin token")
	}
	if c.OperatorEvery == 0 {
		c.OperatorEvery = DefaultOperatorEvery
	}
	if c.Prefix == "" {
		c.Prefix = "bot-" + gamemesh.NewID()[:8]
	} else if !validPrefix(c.Prefix) {
		return c, gamemesh.Errorf(gamemesh.CodeInvalidArgument, "prefix %q: want 1 to 64 characters of [A-Za-z0-9_.-]", c.Prefix)
	}
	if c.MailEvery == 0 {
		c.MailEvery = DefaultMailEvery
	}
	if c.CallTimeout == 0 {
		c.CallTimeout = DefaultCallTimeout
	}
	if c.Stagger == 0 {
		c.Stagger = min(time.Duration(c.Players)*staggerStep, maxStagger, c.Duration/4)
	}
	if c.Seed == 0 {
		c.Seed = time.Now().UnixNano()
	}
	c.Scene = c.Scene.withDefaults()
	return c, nil
}

func validPrefix(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}
