package scene

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/gamemesh/gamemesh"
)

// harness drives one scenario.
type harness struct {
	t      *testing.T
	cfg    Config
	rules  DefaultRules
	s      *Scene
	inputs []Input
	names  map[EntityID]string
	mirror map[gamemesh.PlayerID]map[EntityID]mirrored
}

func (h *harness) fail(line int, format string, args ...any) {
	h.t.Helper()
	h.t.Fatalf("line %d: "+format, append([]any{line}, args...)...)
}

func (h *harness) run(line int, cmd string) string {
	f := strings.Fields(cmd)
	args := kv(f[1:])
	if h.s == nil && !isSetup(f[0]) {
		h.start(line)
	}
	switch f[0] {
	case "config":
		h.config(line, args)
	case "skill":
		h.cfg.Skills = append(h.cfg.Skills, Skill{
			ID: SkillID(args.int(h, line, "id", 0)), Range: args.m(h, line, "range", 0),
			Cooldown: uint64(args.int(h, line, "cooldown", 0)), Power: int32(args.int(h, line, "power", 0)),
			Player: args.has("player"),
		})
	case "monster":
		h.cfg.Monsters = append(h.cfg.Monsters, MonsterKind{
			ID: f[1], Level: int32(args.int(h, line, "level", 1)), MaxHP: int32(args.int(h, line, "hp", 50)),
			Speed: args.m(h, line, "speed", 4), AggroRange: args.m(h, line, "aggro", 0),
			LeashRange: args.m(h, line, "leash", 20), WanderRadius: args.m(h, line, "wander", 0),
			Skill: SkillID(args.int(h, line, "skill", 0)),
		})
	case "spawn":
		h.cfg.Spawns = append(h.cfg.Spawns, SpawnPoint{
			Monster: f[1], At: args.pos(h, line, "at"), Count: args.int(h, line, "count", 1),
			Radius: args.m(h, line, "radius", 0), RespawnTicks: uint64(args.int(h, line, "respawn", 0)),
		})
	case "drops":
		table := DropTable{Monster: f[1]}
		for _, d := range f[2:] {
			p := strings.Split(d, ":")
			if len(p) != 4 {
				h.fail(line, "drop %q is not item:percent:min:max", d)
			}
			table.Items = append(table.Items, DropChance{Item: p[0], Percent: atoi(h, line, p[1]),
				Min: int32(atoi(h, line, p[2])), Max: int32(atoi(h, line, p[3]))})
		}
		h.rules.DropTables = append(h.rules.DropTables, table)
	case "start":
		h.start(line)
		return h.describe(nil)
	case "join":
		in := Join(gamemesh.PlayerID(f[1]), h.float(line, f[2]), h.float(line, f[3]), int32(args.int(h, line, "level", 1)), int64(args.int(h, line, "xp", 0)))
		h.inputs = append(h.inputs, in)
	case "join-spawn":
		h.inputs = append(h.inputs, JoinAtSpawn(gamemesh.PlayerID(f[1]), int32(args.int(h, line, "level", 1)), 0))
	case "leave":
		h.inputs = append(h.inputs, Leave(gamemesh.PlayerID(f[1])))
	case "resync":
		h.inputs = append(h.inputs, Resync(gamemesh.PlayerID(f[1])))
	case "move":
		h.inputs = append(h.inputs, Move(gamemesh.PlayerID(f[1]), h.float(line, f[2]), h.float(line, f[3]), uint64(args.int(h, line, "ctick", 0))))
	case "cast":
		h.inputs = append(h.inputs, Cast(gamemesh.PlayerID(f[1]), SkillID(atoi(h, line, f[2])), h.target(line, f[3])))
	case "pickup":
		h.inputs = append(h.inputs, Pickup(gamemesh.PlayerID(f[1]), h.target(line, f[2])))
	case "flood":
		// flood p1 12 move 20 10: 12 copies of the input after the count.
		n := atoi(h, line, f[2])
		before := len(h.inputs)
		h.run(line, strings.Join(append([]string{f[3], f[1]}, f[4:]...), " "))
		in := h.inputs[before]
		for range n - 1 {
			h.inputs = append(h.inputs, in)
		}
	case "pvp":
		h.s.SetPvP(f[1] == "on")
	case "step":
		return h.step(line, f[1:])
	case "state":
		return h.describe(f[1:])
	case "visible":
		return h.visible(line, gamemesh.PlayerID(f[1]))
	default:
		h.fail(line, "unknown command %q", f[0])
	}
	return ""
}

func isSetup(cmd string) bool {
	switch cmd {
	case "config", "skill", "monster", "spawn", "drops", "start":
		return true
	}
	return false
}

func (h *harness) config(line int, a args) {
	c := &h.cfg
	for k, v := range a {
		switch k {
		case "mode":
			c.Mode = map[string]Mode{"grid": ModeGrid, "full": ModeFull}[v]
		case "size":
			p := a.pos(h, line, k)
			c.Width, c.Height = p.X, p.Y
		case "view":
			c.ViewRange = a.m(h, line, k, 0)
		case "seed":
			c.Seed = uint64(a.int(h, line, k, 0))
		case "quantum":
			c.Quantum = a.m(h, line, k, 0)
		case "speed":
			c.PlayerSpeed = a.m(h, line, k, 0)
		case "hp":
			c.PlayerBaseHP = int32(a.int(h, line, k, 0))
		case "spawn":
			c.PlayerSpawn = a.pos(h, line, k)
		case "respawn":
			c.PlayerRespawnTicks = uint64(a.int(h, line, k, 0))
		case "max-move":
			c.MaxMoveDistance = a.m(h, line, k, 0)
		case "max-inputs":
			c.MaxInputsPerPlayer = a.int(h, line, k, 0)
		case "max-players":
			c.MaxPlayers = a.int(h, line, k, 0)
		case "level-xp":
			c.LevelXP = int64(a.int(h, line, k, 0))
		case "drop-owner":
			c.DropOwnerTicks = uint64(a.int(h, line, k, 0))
		case "drop-life":
			c.DropLifetimeTicks = uint64(a.int(h, line, k, 0))
		case "corpse":
			c.CorpseTicks = uint64(a.int(h, line, k, 0))
		default:
			h.fail(line, "unknown config key %q", k)
		}
	}
}

func (h *harness) start(line int) {
	h.cfg.Rules = h.rules
	s, err := New(h.cfg)
	if err != nil {
		h.fail(line, "New: %v", err)
	}
	h.s = s
	h.names = make(map[EntityID]string)
	h.mirror = make(map[gamemesh.PlayerID]map[EntityID]mirrored)
}

// name returns how the scenario calls entity id: the player id, or kind#id.
func (h *harness) name(id EntityID) string {
	if e, ok := h.s.Entity(id); ok {
		n := e.Type + "#" + strconv.Itoa(int(id))
		if e.Kind == KindPlayer {
			n = string(e.Player)
		}
		h.names[id] = n
	}
	if n, ok := h.names[id]; ok {
		return n
	}
	return "#" + strconv.Itoa(int(id))
}

// target resolves "p1", "wolf#3" or "#3" to an entity id.
func (h *harness) target(line int, s string) EntityID {
	if _, num, ok := strings.Cut(s, "#"); ok {
		return EntityID(atoi(h, line, num))
	}
	if e, ok := h.s.Player(gamemesh.PlayerID(s)); ok {
		return e.ID
	}
	return EntityID(atoi(h, line, s))
}

func (h *harness) float(line int, s string) float32 {
	f, err := strconv.ParseFloat(s, 32)
	if err != nil {
		h.fail(line, "bad number %q", s)
	}
	return float32(f)
}

func (h *harness) describe(names []string) string {
	var sb strings.Builder
	for _, e := range h.s.Entities() {
		n := h.name(e.ID)
		if len(names) > 0 && !contains(names, n) && !contains(names, e.Type) {
			continue
		}
		fmt.Fprintf(&sb, "%s %v hp=%d/%d L%d %v f%d", n, e.Pos, e.HP, e.MaxHP, e.Level, e.State, e.Facing)
		switch e.Kind {
		case KindPlayer:
			fmt.Fprintf(&sb, " xp=%d", e.XP)
		case KindMonster:
			if e.Target != 0 {
				fmt.Fprintf(&sb, " target=%s", h.name(e.Target))
			}
		case KindDrop:
			fmt.Fprintf(&sb, " x%d", e.Count)
		}
		sb.WriteString("\n")
	}
	return sb.String()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// step runs "step [n] [show=all|events|p1,p2]": n ticks, the queued inputs
// on the first, printing each tick's output.
func (h *harness) step(line int, f []string) string {
	n := 1
	show := "all"
	for _, a := range f {
		if v, ok := strings.CutPrefix(a, "show="); ok {
			show = v
		} else {
			n = atoi(h, line, a)
		}
	}
	var sb strings.Builder
	for range n {
		out := h.s.Step(h.s.Tick()+1, h.inputs)
		h.inputs = nil
		h.print(&sb, out, show)
		h.check(line, out)
	}
	return sb.String()
}

// args are a command's key=value arguments ("player" alone: key with "").
type args map[string]string

func kv(f []string) args {
	a := args{}
	for _, s := range f {
		k, v, _ := strings.Cut(s, "=")
		a[k] = v
	}
	return a
}

func (a args) has(k string) bool { _, ok := a[k]; return ok }

func (a args) int(h *harness, line int, k string, def int) int {
	v, ok := a[k]
	if !ok {
		return def
	}
	return atoi(h, line, v)
}

// m reads metres.
func (a args) m(h *harness, line int, k string, def float64) Fixed {
	v, ok := a[k]
	if !ok {
		return Fixed(def * float64(Meter))
	}
	return Fixed(float64(h.float(line, v))*float64(Meter) + 0.5)
}

func (a args) pos(h *harness, line int, k string) Pos {
	x, y, ok := strings.Cut(a[k], ",")
	if !ok {
		h.fail(line, "%s=%q is not x,y", k, a[k])
	}
	return P(float64(h.float(line, x)), float64(h.float(line, y)))
}

func atoi(h *harness, line int, s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		h.fail(line, "bad integer %q", s)
	}
	return n
}
