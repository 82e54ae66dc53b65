package bots

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sync"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// Guild routes the bots call.
const (
	RouteGuildCreate  = "guild.create"
	RouteGuildApply   = "guild.apply"
	RouteGuildInfo    = "guild.info"
	RouteGuildMembers = "guild.members"
	RouteGuildLeave   = "guild.leave"
)

const (
	// founderEvery: one bot in founderEvery founds an open guild; the others
	// join one (about founderEvery members per guild, well under the cap).
	founderEvery = 10
	// leaveOneIn: on a guild tick, a member leaves and joins another guild
	// one time in leaveOneIn.
	leaveOneIn = 5
)

// guildBoard is the shared list of the guilds the bots founded.
type guildBoard struct {
	mu  sync.RWMutex
	ids []string
}

func (g *guildBoard) add(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ids = append(g.ids, id)
}

// pick returns a random founded guild other than not, or "" when none.
func (g *guildBoard) pick(rng *rand.Rand, not string) string {
	g.mu.RLock()
	defer g.mu.RUnlock()
	var choices []string
	for _, id := range g.ids {
		if id != not {
			choices = append(choices, id)
		}
	}
	if len(choices) == 0 {
		return ""
	}
	return choices[rng.IntN(len(choices))]
}

// guildName is a name unique to this run and bot, within the 16-character limit.
func guildName(prefix string, index int) string {
	h := fnv.New32a()
	h.Write([]byte(prefix))
	return fmt.Sprintf("g%06x-%d", h.Sum32()&0xffffff, index)
}

// guildTick founds or joins a guild when the bot has none, and otherwise looks
// at its guild, sometimes at its members, and now and then moves to another one.
func (b *bot) guildTick(ctx context.Context) {
	if !b.guildKnown {
		// A player that played before (a fixed --prefix) may be in a guild already.
		var out gamev1.GuildResponse
		err := b.callExpecting(ctx, RouteGuildInfo, &gamev1.GuildRequest{}, &out, gamemesh.CodeNotFound)
		switch {
		case err == nil:
			b.guild, b.leader = out.GetGuild().GetId(), out.GetGuild().GetLeaderId() == string(b.self)
			if b.leader {
				b.guilds.add(b.guild)
			}
		case gamemesh.CodeOf(err) != gamemesh.CodeNotFound:
			return
		}
		b.guildKnown = true
	}
	switch {
	case b.guild == "" && b.index%founderEvery == 0:
		var out gamev1.GuildResponse
		if b.call(ctx, RouteGuildCreate, &gamev1.CreateGuildRequest{Name: guildName(b.cfg.Prefix, b.index), Open: true}, &out) == nil {
			b.guild, b.leader = out.GetGuild().GetId(), true
			b.guilds.add(b.guild)
		}
	case b.guild == "":
		b.join(ctx, "")
	default:
		var out gamev1.GuildResponse
		if b.call(ctx, RouteGuildInfo, &gamev1.GuildRequest{GuildId: b.guild}, &out) != nil {
			return
		}
		if b.rng.IntN(2) == 0 {
			_ = b.call(ctx, RouteGuildMembers, &gamev1.ListGuildMembersRequest{GuildId: b.guild}, &gamev1.ListGuildMembersResponse{})
		}
		if !b.leader && b.rng.IntN(leaveOneIn) == 0 {
			if b.call(ctx, RouteGuildLeave, &gamev1.GuildRequest{GuildId: b.guild}, &gamev1.GuildResponse{}) == nil {
				old := b.guild
				b.guild = ""
				b.join(ctx, old)
			}
		}
	}
}

// join applies to a founded guild other than not (open guilds admit at once).
func (b *bot) join(ctx context.Context, not string) {
	id := b.guilds.pick(b.rng, not)
	if id == "" {
		return // no guild founded yet: next tick
	}
	var out gamev1.GuildResponse
	if b.call(ctx, RouteGuildApply, &gamev1.GuildRequest{GuildId: id}, &out) == nil && out.GetJoined() {
		b.guild = id
	}
}
