package scene

import (
	"fmt"
	"sort"
	"strings"

	"github.com/gamemesh/gamemesh"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"google.golang.org/protobuf/proto"
)

// print formats a tick's output as the lines of an expected block; show
// picks whose updates to print (all, events only, or a list of players).
func (h *harness) print(sb *strings.Builder, out Output, show string) {
	p := func(format string, args ...any) {
		fmt.Fprintf(sb, "t%d "+format+"\n", append([]any{out.Tick}, args...)...)
	}
	for _, e := range out.Errors {
		p("error %s %v: %v", e.Player, e.Kind, e.Err)
	}
	if out.Dropped > 0 {
		p("dropped %d", out.Dropped)
	}
	if out.RulesErr != nil {
		p("rules-error %v", out.RulesErr)
	}
	for _, e := range out.Left {
		p("left %s %v hp=%d/%d L%d xp=%d", e.Player, e.Pos, e.HP, e.MaxHP, e.Level, e.XP)
	}
	for _, e := range out.Events {
		switch e.Kind {
		case EventMonsterKilled:
			p("event %v %s %s L%d", e.Kind, e.Player, h.name(e.Entity), e.Level)
		case EventPlayerDied:
			p("event %v %s by %s", e.Kind, e.Player, e.Type)
		case EventItemGained:
			p("event %v %s %s x%d", e.Kind, e.Player, e.Type, e.Count)
		case EventLevelUp:
			p("event %v %s L%d", e.Kind, e.Player, e.Level)
		case EventCleared:
			p("event %v %s %s", e.Kind, e.Player, e.Type)
		}
	}
	for _, g := range out.Grants {
		p("grant %s %s x%d id=%s", g.Player, g.Item, g.Count, g.ID)
	}
	if show == "events" {
		return
	}
	q := h.s.cfg.Quantum
	for _, u := range out.Updates {
		if show != "all" && !contains(strings.Split(show, ","), string(u.Player)) {
			continue
		}
		m := proto.Clone(u.Msg).(*gamev1.SceneUpdate)
		sortUpdate(m) // readable: by id
		if m.SelfId != 0 {
			p("%s self %s", u.Player, h.name(EntityID(m.SelfId)))
		}
		if m.AckClientTick != 0 {
			p("%s ack %d", u.Player, m.AckClientTick)
		}
		for _, e := range m.Enters {
			p("%s enter %s (%v,%v) hp=%d/%d L%d %v f%d", u.Player, h.name(EntityID(e.Id)), Fixed(e.X)*q, Fixed(e.Y)*q,
				e.Hp, e.MaxHp, e.Level, State(e.Status), e.Facing)
		}
		for _, id := range m.Leaves {
			p("%s leave %s", u.Player, h.name(EntityID(id)))
		}
		for _, d := range m.Updates {
			var parts []string
			if d.Dx != 0 || d.Dy != 0 {
				parts = append(parts, fmt.Sprintf("d(%v,%v)", Fixed(d.Dx)*q, Fixed(d.Dy)*q))
			}
			if d.Dfacing != 0 {
				parts = append(parts, fmt.Sprintf("f%+d", d.Dfacing))
			}
			if d.Dhp != 0 {
				parts = append(parts, fmt.Sprintf("hp%+d", d.Dhp))
			}
			if d.DmaxHp != 0 {
				parts = append(parts, fmt.Sprintf("maxhp%+d", d.DmaxHp))
			}
			if d.Dlevel != 0 {
				parts = append(parts, fmt.Sprintf("L%+d", d.Dlevel))
			}
			if d.Status != 0 {
				parts = append(parts, State(d.Status).String())
			}
			p("%s update %s %s", u.Player, h.name(EntityID(d.Id)), strings.Join(parts, " "))
		}
	}
}

// visible prints the player's view as the client mirror holds it.
func (h *harness) visible(line int, p gamemesh.PlayerID) string {
	ids := h.s.Visible(p)
	m := h.mirror[p]
	if len(ids) != len(m) {
		h.fail(line, "server view %v and client mirror %v differ", ids, m)
	}
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = h.name(id)
	}
	return strings.Join(names, " ") + "\n"
}

// mirrored is an entity as a client rebuilt it from updates.
type mirrored struct {
	x, y                    int32
	facing                  uint32
	hp, maxHP, level, state int32
}

// check applies out's updates to each player's mirror and compares every
// mirror with the server's state seen by brute force.
func (h *harness) check(line int, out Output) {
	for _, l := range out.Left {
		delete(h.mirror, l.Player)
	}
	for _, u := range out.Updates {
		m := h.mirror[u.Player]
		if m == nil || u.Msg.SelfId != 0 {
			m = make(map[EntityID]mirrored)
			h.mirror[u.Player] = m
		}
		for _, id := range u.Msg.Leaves {
			if _, ok := m[EntityID(id)]; !ok {
				h.fail(line, "t%d %s: leave of unknown %d", out.Tick, u.Player, id)
			}
			delete(m, EntityID(id))
		}
		for _, e := range u.Msg.Enters {
			if _, ok := m[EntityID(e.Id)]; ok {
				h.fail(line, "t%d %s: enter of known %d", out.Tick, u.Player, e.Id)
			}
			m[EntityID(e.Id)] = mirrored{x: e.X, y: e.Y, facing: e.Facing, hp: e.Hp, maxHP: e.MaxHp, level: e.Level, state: int32(e.Status)}
		}
		for _, d := range u.Msg.Updates {
			e, ok := m[EntityID(d.Id)]
			if !ok {
				h.fail(line, "t%d %s: update of unknown %d", out.Tick, u.Player, d.Id)
			}
			e.x += d.Dx
			e.y += d.Dy
			e.facing = uint32(uint8(int32(e.facing) + d.Dfacing))
			e.hp += d.Dhp
			e.maxHP += d.DmaxHp
			e.level += d.Dlevel
			if d.Status != 0 {
				e.state = int32(d.Status)
			}
			m[EntityID(d.Id)] = e
		}
	}
	all := h.s.Entities()
	q := int64(h.s.cfg.Quantum)
	quant := func(v Fixed) int32 { return int32((int64(v) + q/2) / q) }
	for _, o := range all {
		if o.Kind != KindPlayer {
			continue
		}
		want := map[EntityID]mirrored{}
		for _, e := range all {
			if h.s.cfg.Mode == ModeFull || within(o.Pos, e.Pos, h.s.cfg.ViewRange) {
				want[e.ID] = mirrored{x: quant(e.Pos.X), y: quant(e.Pos.Y), facing: uint32(e.Facing), hp: e.HP, maxHP: e.MaxHP, level: e.Level, state: int32(e.State)}
			}
		}
		got := h.mirror[o.Player]
		if len(got) != len(want) {
			h.fail(line, "t%d %s: client sees %d entities, server %d", out.Tick, o.Player, len(got), len(want))
		}
		ids := make([]int, 0, len(want))
		for id := range want {
			ids = append(ids, int(id))
		}
		sort.Ints(ids)
		for _, id := range ids {
			if got[EntityID(id)] != want[EntityID(id)] {
				h.fail(line, "t%d %s: entity %d is %+v on the client, %+v on the server", out.Tick, o.Player, id, got[EntityID(id)], want[EntityID(id)])
			}
		}
	}
}
