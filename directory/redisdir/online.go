package redisdir

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/directory"
)

// Defaults of the online directory.
const (
	// DefaultOnlinePrefix starts every player's key: prefix + player id.
	DefaultOnlinePrefix = "gamemesh:online:"
	// DefaultOnlineTTL is how long an entry outlives the last refresh of the
	// process that registered it: a gate killed without unregistering its
	// players loses them from the directory that much later.
	DefaultOnlineTTL = 30 * time.Second
	// refreshBatch is how many entries one pipelined round trip refreshes.
	refreshBatch = 512
)

// unregisterScript deletes KEYS[1] if it still holds this session
// (ARGV[1] is "|session", the end of the entry).
var unregisterScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, -string.len(ARGV[1])) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)

// refreshScript extends KEYS[1] by ARGV[2] ms if it still holds ARGV[1]:
// 1 when extended, 0 when another session holds it, -1 when it is gone.
var refreshScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if v then return 0 end
return -1`)

// Online is the directory of online players shared by every gate and
// function process of a cluster: one Redis string per player ("gate|session")
// that expires TTL after its last refresh. The process that registered an
// entry refreshes it every TTL/3 while it runs (Start), so a session lasts as
// long as it is open, and the players of a gate that died without
// unregistering them disappear from the directory within TTL.
//
// Register and Unregister are atomic on the player's key (SET … GET and a
// compare-and-delete script): a newer session is never removed by an older
// one's end, and each registration learns the location it replaced. Every
// key is a single Redis key, so the directory works on Redis Cluster too.
type Online struct {
	c      redis.UniversalClient
	prefix string
	ttl    time.Duration
	log    *slog.Logger

	mu   sync.Mutex
	mine map[gamemesh.PlayerID]string // entries this process registered and refreshes

	life   sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// OnlineOptions configure an Online directory; zero fields take the defaults.
type OnlineOptions struct {
	// Prefix starts every key (DefaultOnlinePrefix).
	Prefix string
	// TTL is how long an entry lives without a refresh (DefaultOnlineTTL, at
	// least one second).
	TTL time.Duration
	// Logger receives refresh failures (discarded when nil).
	Logger *slog.Logger
}

// NewOnline returns the online directory over c. Register, Unregister and
// Locate work at once; Start begins refreshing this process's entries.
func NewOnline(c redis.UniversalClient, opts OnlineOptions) *Online {
	if opts.Prefix == "" {
		opts.Prefix = DefaultOnlinePrefix
	}
	if opts.TTL <= 0 {
		opts.TTL = DefaultOnlineTTL
	}
	opts.TTL = max(opts.TTL, time.Second)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Online{c: c, prefix: opts.Prefix, ttl: opts.TTL, log: opts.Logger,
		mine: make(map[gamemesh.PlayerID]string)}
}

func (o *Online) key(p gamemesh.PlayerID) string { return o.prefix + string(p) }

func encodeLocation(loc directory.Location) string { return loc.Gate + "|" + loc.Session }

// decodeLocation parses "gate|session"; false for anything else.
func decodeLocation(v string) (directory.Location, bool) {
	g, s, ok := strings.Cut(v, "|")
	if !ok || g == "" || s == "" || strings.Contains(s, "|") {
		return directory.Location{}, false
	}
	return directory.Location{Gate: g, Session: s}, true
}

// Register records that player is at loc and returns where it was before
// (zero if it was offline or its entry was unreadable), in one atomic step.
func (o *Online) Register(ctx context.Context, player gamemesh.PlayerID, loc directory.Location) (directory.Location, error) {
	if !player.Valid() || loc.Gate == "" || loc.Session == "" || strings.Contains(loc.Gate+loc.Session, "|") {
		return directory.Location{}, gamemesh.Errorf(gamemesh.CodeInvalidArgument,
			"directory: register %q at %q/%q: invalid player or location", player, loc.Gate, loc.Session)
	}
	val := encodeLocation(loc)
	// Recorded first, so that a refresh racing with the write below can
	// only extend it, never miss it.
	o.mu.Lock()
	o.mine[player] = val
	o.mu.Unlock()
	prev, err := o.c.SetArgs(ctx, o.key(player), val, redis.SetArgs{TTL: o.ttl, Get: true}).Result()
	switch {
	case errors.Is(err, redis.Nil):
		return directory.Location{}, nil
	case err != nil:
		o.forget(player, val)
		return directory.Location{}, gamemesh.Wrap(gamemesh.CodeUnavailable, err, fmt.Sprintf("directory: register %s", player))
	}
	p, _ := decodeLocation(prev)
	return p, nil
}

// forget stops refreshing player's entry if it is still val.
func (o *Online) forget(player gamemesh.PlayerID, val string) {
	o.mu.Lock()
	if o.mine[player] == val {
		delete(o.mine, player)
	}
	o.mu.Unlock()
}

// Unregister removes player if it is still at session.
func (o *Online) Unregister(ctx context.Context, player gamemesh.PlayerID, session string) error {
	if session == "" {
		return nil
	}
	o.mu.Lock()
	if v, ok := o.mine[player]; ok && strings.HasSuffix(v, "|"+session) {
		delete(o.mine, player)
	}
	o.mu.Unlock()
	if err := unregisterScript.Run(ctx, o.c, []string{o.key(player)}, "|"+session).Err(); err != nil {
		return gamemesh.Wrap(gamemesh.CodeUnavailable, err, fmt.Sprintf("directory: unregister %s", player))
	}
	return nil
}

// Locate returns where player is, or an error matching gamemesh.ErrNotFound
// when it is offline.
func (o *Online) Locate(ctx context.Context, player gamemesh.PlayerID) (directory.Location, error) {
	v, err := o.c.Get(ctx, o.key(player)).Result()
	if errors.Is(err, redis.Nil) {
		return directory.Location{}, gamemesh.Errorf(gamemesh.CodeNotFound, "player %s is offline", player)
	}
	if err != nil {
		return directory.Location{}, gamemesh.Wrap(gamemesh.CodeUnavailable, err, fmt.Sprintf("directory: locate %s", player))
	}
	loc, ok := decodeLocation(v)
	if !ok {
		return directory.Location{}, gamemesh.Errorf(gamemesh.CodeInternal, "directory: corrupt entry for %s", player)
	}
	return loc, nil
}

// Registered is how many entries this process registered and refreshes.
func (o *Online) Registered() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.mine)
}

// Start refreshes this process's entries every TTL/3 until Stop. Start
// after Start is an error.
func (o *Online) Start(context.Context) error {
	o.life.Lock()
	defer o.life.Unlock()
	if o.done != nil {
		return errors.New("directory: online directory already started")
	}
	ctx, cancel := context.WithCancel(context.Background())
	o.cancel, o.done = cancel, make(chan struct{})
	go o.loop(ctx)
	return nil
}

// Stop ends the refreshes (entries are left to their TTL: the process's
// sessions unregister themselves as they end). Stop before Start does nothing.
func (o *Online) Stop(context.Context) error {
	o.life.Lock()
	cancel, done := o.cancel, o.done
	o.cancel = nil
	o.life.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	<-done
	return nil
}

func (o *Online) loop(ctx context.Context) {
	defer close(o.done)
	t := time.NewTicker(o.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := o.Refresh(ctx); err != nil && ctx.Err() == nil {
			o.log.Warn("refreshing the online directory failed", "entries", o.Registered(), "err", err)
		}
	}
}

// Refresh extends every entry this process registered by TTL, in pipelined
// batches. An entry another process took over is dropped from the refresh
// (that session is being kicked); one that expired (Redis was unreachable
// for longer than TTL) is written again if no one took it meanwhile.
func (o *Online) Refresh(ctx context.Context) error {
	type entry struct {
		p gamemesh.PlayerID
		v string
	}
	o.mu.Lock()
	all := make([]entry, 0, len(o.mine))
	for p, v := range o.mine {
		all = append(all, entry{p, v})
	}
	o.mu.Unlock()
	ttlMs := strconv.FormatInt(o.ttl.Milliseconds(), 10)
	var errs []error
	reloaded := false
	for len(all) > 0 {
		batch := all[:min(refreshBatch, len(all))]
		all = all[len(batch):]
		pipe := o.c.Pipeline()
		cmds := make([]*redis.Cmd, len(batch))
		for i, e := range batch {
			cmds[i] = refreshScript.EvalSha(ctx, pipe, []string{o.key(e.p)}, e.v, ttlMs)
		}
		_, _ = pipe.Exec(ctx)
		var missing []entry
		var retry bool
		for i, cmd := range cmds {
			n, err := cmd.Int()
			switch {
			case err != nil && !reloaded && redis.HasErrorPrefix(err, "NOSCRIPT"):
				retry = true
			case err != nil:
				errs = append(errs, err)
			case n == 0:
				o.forget(batch[i].p, batch[i].v)
			case n < 0:
				missing = append(missing, batch[i])
			}
		}
		if retry {
			// The script is not cached yet (first refresh, or a Redis
			// restart): load it and redo this batch.
			reloaded = true
			if err := refreshScript.Load(ctx, o.c).Err(); err != nil {
				errs = append(errs, err)
				continue
			}
			all = append(all, batch...)
			continue
		}
		for _, e := range missing {
			// Written back only if it is still ours, under mu so that an
			// Unregister cannot slip between the check and the write.
			o.mu.Lock()
			if o.mine[e.p] == e.v {
				if err := o.c.SetNX(ctx, o.key(e.p), e.v, o.ttl).Err(); err != nil {
					errs = append(errs, err)
				}
			}
			o.mu.Unlock()
		}
		if len(errs) > 8 {
			break
		}
	}
	if len(errs) > 0 {
		return gamemesh.Wrap(gamemesh.CodeUnavailable, errors.Join(errs...), "directory: refresh")
	}
	return nil
}
