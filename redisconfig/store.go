package redisconfig

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/gamemesh/gamemesh"
)

// VersionSep separates value and version in a configuration.redis key.
const VersionSep = "||"

// redisSetScript writes KEYS[1] = ARGV[1] || (previous version + 1) in one
// step, so two concurrent writers never get the same version. A previous
// version that is not a whole number counts as 0 (as in the embedded file);
// versions stay below 10^15, where Lua's numbers are exact.
var redisSetScript = redis.NewScript(`
local n = 0
local cur = redis.call('GET', KEYS[1])
if cur then
  local v = string.match(cur, '.*||(%d+)$')
  if v then
    if #v > 15 then return redis.error_reply('version of ' .. KEYS[1] .. ' is too large') end
    n = tonumber(v)
  end
end
local version = string.format('%d', n + 1)
redis.call('SET', KEYS[1], ARGV[1] .. '||' .. version)
return version
`)

// Store is the Redis behind Dapr's configuration.redis component: keys are
// plain, values are "value||version". It is safe for concurrent use.
type Store struct {
	c *redis.Client
}

// Open connects to the Redis at addr and checks that it answers.
// An address where nothing listens is reported at once, before go-redis
// retries the dial and logs each failure through its global logger.
func Open(ctx context.Context, addr, password string) (*Store, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, gamemesh.Wrap(gamemesh.CodeUnavailable, err, fmt.Sprintf("redis %s does not answer", addr))
	}
	_ = conn.Close()
	c := redis.NewClient(&redis.Options{
		Addr:                     addr,
		Password:                 password,
		DialTimeout:              2 * time.Second,
		DialerRetries:            2,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	if err := c.Ping(ctx).Err(); err != nil {
		_ = c.Close()
		return nil, gamemesh.Wrap(gamemesh.CodeUnavailable, err, fmt.Sprintf("redis %s does not answer", addr))
	}
	return &Store{c: c}, nil
}

// Get returns the items present among keys (a value without a version has
// version "0").
func (s *Store) Get(ctx context.Context, keys []string) (map[string]gamemesh.ConfigItem, error) {
	out := make(map[string]gamemesh.ConfigItem, len(keys))
	const batch = 500
	for len(keys) > 0 {
		n := min(len(keys), batch)
		vals, err := s.c.MGet(ctx, keys[:n]...).Result()
		if err != nil {
			return nil, redisErr(err, "reading keys")
		}
		for i, v := range vals {
			if str, ok := v.(string); ok {
				out[keys[i]] = ParseItem(str)
			}
		}
		keys = keys[n:]
	}
	return out, nil
}

// Prefixed returns every item whose key starts with prefix.
func (s *Store) Prefixed(ctx context.Context, prefix string) (map[string]gamemesh.ConfigItem, error) {
	seen := map[string]bool{}
	var keys []string
	it := s.c.Scan(ctx, 0, escapeGlob(prefix)+"*", 500).Iterator()
	for it.Next(ctx) {
		if k := it.Val(); !seen[k] { // SCAN may return a key twice
			seen[k] = true
			keys = append(keys, k)
		}
	}
	if err := it.Err(); err != nil {
		return nil, redisErr(err, "listing keys")
	}
	return s.Get(ctx, keys)
}

// Set writes key = value with the key's previous version + 1 and returns the
// new version. A value containing "||" is refused with INVALID_ARGUMENT.
func (s *Store) Set(ctx context.Context, key, value string) (string, error) {
	if key == "" {
		return "", gamemesh.Errorf(gamemesh.CodeInvalidArgument, "config key is empty")
	}
	if strings.Contains(value, VersionSep) {
		return "", gamemesh.Errorf(gamemesh.CodeInvalidArgument, "config value may not contain %q", VersionSep)
	}
	v, err := redisSetScript.Run(ctx, s.c, []string{key}, value).Text()
	if err != nil {
		return "", redisErr(err, "writing "+key)
	}
	return v, nil
}

// Close closes the connection pool.
func (s *Store) Close() error { return s.c.Close() }

// ParseItem splits a raw "value||version"; a value without a version has
// version "0".
func ParseItem(s string) gamemesh.ConfigItem {
	if i := strings.LastIndex(s, VersionSep); i >= 0 {
		return gamemesh.ConfigItem{Value: s[:i], Version: s[i+len(VersionSep):]}
	}
	return gamemesh.ConfigItem{Value: s, Version: "0"}
}

// escapeGlob quotes the characters SCAN MATCH gives a meaning.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\^-`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func redisErr(err error, what string) error {
	return gamemesh.Wrap(gamemesh.CodeUnavailable, err, "redis: "+what)
}

// Client returns the connection pool, for callers that read other keys of the
// same Redis (the roster of running processes).
func (s *Store) Client() *redis.Client { return s.c }
