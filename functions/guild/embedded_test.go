package guild_test

// The concurrency and crash tests again, on the embedded adapters: the bbolt
// store (group commit, real ETags) and the in-process invoker (a goroutine
// per call, copied bodies, deadlines).

import (
	"testing"

	"github.com/gamemesh/gamemesh/functions/guild"
)

func TestEmbeddedCapRace(t *testing.T)      { testCapRace(t, newEmbeddedEnv(t, guild.Config{})) }
func TestEmbeddedTwentyGuilds(t *testing.T) { testTwentyGuilds(t, newEmbeddedEnv(t, guild.Config{})) }
func TestEmbeddedNameRace(t *testing.T)     { testNameRace(t, newEmbeddedEnv(t, guild.Config{})) }
func TestEmbeddedLeaderRace(t *testing.T)   { testLeaderRace(t, newEmbeddedEnv(t, guild.Config{})) }
func TestEmbeddedDisbandRace(t *testing.T)  { testDisbandRace(t, newEmbeddedEnv(t, guild.Config{})) }

func TestEmbeddedCrashRollsForward(t *testing.T) {
	testCrashRollsForward(t, newEmbeddedEnv(t, guild.Config{}))
}

func TestEmbeddedCrashInCreate(t *testing.T) {
	testCrashInCreate(t, newEmbeddedEnv(t, guild.Config{}))
}
