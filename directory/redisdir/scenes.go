package redisdir

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gamemesh/gamemesh"
)

// DefaultScenePrefix starts the Redis key of each scene's claim.
const DefaultScenePrefix = "gamemesh:scene:"

// Scenes is the cluster's scene directory: one key per scene holding the id
// of the owning host, with the claim's TTL as the key's expiry. Claims and
// releases are compare-and-set scripts, so a host never renews or drops
// another host's claim.
type Scenes struct {
	c      redis.UniversalClient
	prefix string
}

// NewScenes returns the scene directory over c with keys under prefix
// (DefaultScenePrefix when empty).
func NewScenes(c redis.UniversalClient, prefix string) *Scenes {
	if prefix == "" {
		prefix = DefaultScenePrefix
	}
	return &Scenes{c: c, prefix: prefix}
}

// claimScript: take the key if free or ours (renewing its TTL); return the owner.
var claimScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur == false or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
return cur`)

// releaseScript: delete the key only if it is ours.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)

// Claim takes scene for host, or renews host's claim, for ttl; it returns
// the owner after the call.
func (s *Scenes) Claim(ctx context.Context, scene, host string, ttl time.Duration) (string, error) {
	if scene == "" || host == "" || ttl < time.Millisecond {
		return "", gamemesh.Errorf(gamemesh.CodeInvalidArgument, "scene directory: claim needs a scene, a host and a ttl")
	}
	owner, err := claimScript.Run(ctx, s.c, []string{s.prefix + scene}, host, ttl.Milliseconds()).Text()
	if err != nil {
		return "", gamemesh.Wrap(gamemesh.CodeUnavailable, err, "scene directory: claiming "+scene)
	}
	return owner, nil
}

// Release drops host's claim on scene.
func (s *Scenes) Release(ctx context.Context, scene, host string) error {
	if err := releaseScript.Run(ctx, s.c, []string{s.prefix + scene}, host).Err(); err != nil {
		return gamemesh.Wrap(gamemesh.CodeUnavailable, err, "scene directory: releasing "+scene)
	}
	return nil
}

// Owner returns the host owning scene, NOT_FOUND when none does.
func (s *Scenes) Owner(ctx context.Context, scene string) (string, error) {
	owner, err := s.c.Get(ctx, s.prefix+scene).Result()
	if errors.Is(err, redis.Nil) {
		return "", gamemesh.Errorf(gamemesh.CodeNotFound, "no host owns scene %s", scene)
	}
	if err != nil {
		return "", gamemesh.Wrap(gamemesh.CodeUnavailable, err, "scene directory: reading "+scene)
	}
	return owner, nil
}
