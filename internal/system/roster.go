package system

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/gamemesh/gamemesh/directory"
	"github.com/gamemesh/gamemesh/directory/redisdir"
	"github.com/gamemesh/gamemesh/feature"
)

// Roster is what the compositions give the parts that look for peers: the
// IDIP app (gates to notify, players online), tools waiting for every
// process to converge.
type Roster interface {
	Members(ctx context.Context, kind string) ([]directory.Member, error)
}

// rosterMember is what one process announces: its id and kind, and a report
// of the configuration versions it applied, the Lua generations it runs and
// the players it holds.
type rosterMember struct {
	member directory.Member
	flags  *feature.Flags
	lua    *Lua       // nil when the process runs no Lua
	online func() int // nil when it holds no players
	extra  func() map[string]string
}

func (m rosterMember) report() map[string]string {
	info := map[string]string{directory.InfoStarted: m.member.Info[directory.InfoStarted]}
	if m.flags != nil {
		for k, v := range m.flags.Current().Versions() {
			info[directory.InfoConfigPrefix+k] = v
		}
	}
	if m.lua != nil {
		for _, mod := range m.lua.Modules() {
			if g, ok := m.lua.Pool().Active(mod); ok {
				info[directory.InfoLuaPrefix+mod] = strconv.Itoa(g.Number) + ":" + g.Hash
			}
			if g, ok := m.lua.Pool().Canary(mod); ok {
				info[directory.InfoLuaCanaryPrefix+mod] = strconv.Itoa(g.Number) + ":" + g.Hash
			}
		}
	}
	if m.online != nil {
		info[directory.InfoOnline] = strconv.Itoa(m.online())
	}
	if m.extra != nil {
		for k, v := range m.extra() {
			info[k] = v
		}
	}
	return info
}

// newAnnouncer keeps m in roster. Configuration changes are announced at
// once, so a tool waiting for convergence does not wait for the interval.
func newAnnouncer(roster directory.MemberRecorder, m rosterMember, log *slog.Logger) (*directory.Announcer, func()) {
	if m.member.Info == nil {
		m.member.Info = map[string]string{}
	}
	m.member.Info[directory.InfoStarted] = time.Now().UTC().Format(time.RFC3339)
	a := &directory.Announcer{Roster: roster, Member: m.member, Report: m.report,
		Logger: log.With("part", "roster")}
	var stops []func()
	if m.flags != nil {
		stops = append(stops, m.flags.Watch(func(*feature.Snapshot) { a.Refresh() }))
	}
	if m.lua != nil {
		// A Lua generation taken up or rolled back is announced at once too
		// (ctl and the e2e test wait for every host to report it).
		stops = append(stops, m.lua.Pool().OnChange(a.Refresh))
	}
	return a, func() { // idempotent: a node's Stop may run twice
		for _, stop := range stops {
			stop()
		}
	}
}

// RedisEnv names the environment variables a Dapr-mode process reads to
// reach Redis directly (the roster and the online directory use go-redis;
// the components read the same variable through envRef).
const (
	EnvRedisHost     = "REDIS_HOST"
	EnvRedisPassword = "REDIS_PASSWORD"
)

// dialRedis connects to the Redis at addr and checks that it answers.
func dialRedis(ctx context.Context, addr, password string) (*redis.Client, error) {
	if addr == "" {
		return nil, errors.New("system: the Redis address is required in Dapr mode ($" + EnvRedisHost + ")")
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("system: Redis address %q: want host:port", addr)
	}
	c := redis.NewClient(&redis.Options{
		Addr: addr, Password: password,
		DialTimeout: 2 * time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Ping(pctx).Err(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("system: Redis %s does not answer: %w", addr, err)
	}
	return c, nil
}

// redisRoster is the cluster roster over c.
func redisRoster(c *redis.Client) *redisdir.Roster { return redisdir.NewRoster(c, "", 0) }

// memberID builds a default process id from a kind and the host name.
func memberID(kind, id string) string {
	if id != "" {
		return id
	}
	host, _ := os.Hostname()
	host = strings.ToLower(host)
	if host == "" {
		host = "local"
	}
	return kind + "-" + host
}

// leaveRoster stops a's announcements and removes the member. Failing to
// remove it (Redis down at shutdown) is logged, not an error of the stop:
// readers stop counting the member after the roster's TTL anyway.
func leaveRoster(ctx context.Context, a *directory.Announcer, log *slog.Logger) {
	if err := a.Stop(ctx); err != nil {
		log.Warn("leaving the roster failed; the entry expires by itself", "member", a.Member.ID, "err", err)
	}
}
