package scene

import (
	"fmt"
	"slices"

	"github.com/gamemesh/gamemesh"
)

// Mode chooses how a scene decides who sees what.
type Mode uint8

const (
	// ModeGrid is for open scenes: a nine-grid of cells as large as the view
	// range; an observer sees the entities of its cell and the 8 neighbours
	// that are within the view range.
	ModeGrid Mode = iota
	// ModeFull is for small instances: every player sees every entity.
	ModeFull
)

// SkillID names a skill.
type SkillID uint32

// Skill is a skill a player or a monster can cast on a target.
type Skill struct {
	ID   SkillID
	Name string
	// Range is the farthest a target may be from the caster.
	Range Fixed
	// Cooldown is the number of ticks before the caster may cast it again.
	Cooldown uint64
	// Power is handed to the Rules; DefaultRules uses it as base damage.
	Power int32
	// Player says players may cast it (monsters cast the skill of their kind).
	Player bool
}

// MonsterKind describes one kind of monster.
type MonsterKind struct {
	// ID names the kind ("wolf"); it is the type_id clients see and the key of drop tables.
	ID    string
	Level int32
	MaxHP int32
	// Speed in Fixed per second.
	Speed Fixed
	// AggroRange: a player this close to an idle or wandering monster is attacked.
	AggroRange Fixed
	// LeashRange: a monster farther than this from home gives up and walks back.
	LeashRange Fixed
	// WanderRadius: how far from home an idle monster strolls (0: it stays put).
	WanderRadius Fixed
	// Skill is the skill the monster attacks with.
	Skill SkillID
}

// SpawnPoint places Count monsters of one kind within Radius of At, and
// respawns each RespawnTicks after its corpse is gone; with RespawnTicks 0
// they never come back (a dungeon: killing every such monster clears it).
type SpawnPoint struct {
	Monster      string
	At           Pos
	Count        int
	Radius       Fixed
	RespawnTicks uint64
}

// Config describes a scene. Zero values take the defaults given per field.
type Config struct {
	// ID names the scene (in grant ids and SceneInfo).
	ID   string
	Mode Mode
	// Width and Height bound the map: positions lie in [0,Width]×[0,Height].
	Width, Height Fixed
	// ViewRange is how far a player sees; it is also the nine-grid cell size.
	ViewRange Fixed
	// TickMillis is the duration of one tick (default 50: 20 Hz).
	TickMillis int64
	// Seed seeds the scene's PRNG: the same seed and inputs give the same outputs.
	Seed uint64
	// Quantum is the resolution of positions on the wire (default 50 mm).
	Quantum Fixed

	// PlayerSpeed in Fixed per second (default 5 m/s).
	PlayerSpeed Fixed
	// PlayerBaseHP and PlayerHPPerLevel give a player's max HP (defaults 100 and 10).
	PlayerBaseHP, PlayerHPPerLevel int32
	// PlayerSpawn is where players join with JoinAtSpawn and respawn after death.
	PlayerSpawn Pos
	// PlayerRespawnTicks is how long a dead player waits (default 100).
	PlayerRespawnTicks uint64
	// MaxMoveDistance: a move target farther than this from the player is refused (default ViewRange).
	MaxMoveDistance Fixed
	// MaxInputsPerPlayer is how many client inputs of one player a tick processes (default 8);
	// the rest are dropped with RATE_LIMITED.
	MaxInputsPerPlayer int
	// MaxPlayers caps the players in the scene (0: no cap).
	MaxPlayers int
	// MaxLevel caps a joining player's level (default 1000).
	MaxLevel int32
	// LevelXP: reaching level L+1 takes LevelXP×L experience (default 100).
	LevelXP int64

	Skills   []Skill
	Monsters []MonsterKind
	Spawns   []SpawnPoint

	// PickupRange is how close a player must be to pick up a drop (default 2 m).
	PickupRange Fixed
	// DropOwnerTicks: only the killer may pick up a drop this long (default 200).
	DropOwnerTicks uint64
	// DropLifetimeTicks: a drop nobody picks up vanishes after this (default 1200).
	DropLifetimeTicks uint64
	// CorpseTicks: a dead monster stays visible this long (default 40).
	CorpseTicks uint64

	// Rules resolves combat (default DefaultRules{}).
	Rules Rules
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	def := func(p *Fixed, v Fixed) {
		if *p == 0 {
			*p = v
		}
	}
	defU := func(p *uint64, v uint64) {
		if *p == 0 {
			*p = v
		}
	}
	if c.TickMillis == 0 {
		c.TickMillis = 50
	}
	def(&c.Quantum, 50)
	def(&c.PlayerSpeed, 5*Meter)
	def(&c.MaxMoveDistance, c.ViewRange)
	def(&c.PickupRange, 2*Meter)
	if c.PlayerBaseHP == 0 {
		c.PlayerBaseHP = 100
	}
	if c.PlayerHPPerLevel == 0 {
		c.PlayerHPPerLevel = 10
	}
	defU(&c.PlayerRespawnTicks, 100)
	defU(&c.DropOwnerTicks, 200)
	defU(&c.DropLifetimeTicks, 1200)
	defU(&c.CorpseTicks, 40)
	if c.MaxInputsPerPlayer == 0 {
		c.MaxInputsPerPlayer = 8
	}
	if c.MaxLevel == 0 {
		c.MaxLevel = 1000
	}
	if c.LevelXP == 0 {
		c.LevelXP = 100
	}
	if c.Rules == nil {
		c.Rules = DefaultRules{}
	}
	return c
}

// maxCells bounds the nine-grid's cell count.
const maxCells = 1 << 22

// validate checks a config with defaults applied.
func (c *Config) validate() error {
	switch {
	case c.Mode != ModeGrid && c.Mode != ModeFull:
		return fmt.Errorf("scene: unknown mode %d", c.Mode)
	case c.Width <= 0 || c.Height <= 0 || c.Width > MaxMapSize || c.Height > MaxMapSize:
		return fmt.Errorf("scene: map size %v×%v out of (0, %v]", c.Width, c.Height, MaxMapSize)
	case c.ViewRange <= 0:
		return fmt.Errorf("scene: view range %v must be positive", c.ViewRange)
	case (int64(c.Width)/int64(c.ViewRange)+1)*(int64(c.Height)/int64(c.ViewRange)+1) > maxCells:
		return fmt.Errorf("scene: view range %v too small for a %v×%v map (more than %d cells)", c.ViewRange, c.Width, c.Height, maxCells)
	case c.TickMillis < 0 || c.Quantum < 0 || c.PlayerSpeed < 0 || c.MaxMoveDistance < 0 || c.PickupRange < 0:
		return fmt.Errorf("scene: negative tick, quantum, speed, move or pickup distance")
	case c.PlayerBaseHP < 1 || c.PlayerHPPerLevel < 0 || c.MaxInputsPerPlayer < 0 || c.MaxPlayers < 0 || c.MaxLevel < 1 || c.LevelXP < 1:
		return fmt.Errorf("scene: player hp, input cap, player cap, level cap and level xp must be positive")
	case !inMap(c.PlayerSpawn, c.Width, c.Height):
		return fmt.Errorf("scene: player spawn %v outside the map", c.PlayerSpawn)
	}
	if c.ID != "" && !gamemesh.ValidKeyPart(c.ID) {
		return fmt.Errorf("scene: id %q is not 2 to 64 characters of [a-z0-9_-]", c.ID)
	}
	skills := make(map[SkillID]bool, len(c.Skills))
	for _, sk := range c.Skills {
		if sk.ID == 0 || skills[sk.ID] {
			return fmt.Errorf("scene: skill id %d zero or repeated", sk.ID)
		}
		if sk.Range < 0 || sk.Power < 0 {
			return fmt.Errorf("scene: skill %d has a negative range or power", sk.ID)
		}
		skills[sk.ID] = true
	}
	kinds := make(map[string]bool, len(c.Monsters))
	for _, m := range c.Monsters {
		switch {
		case m.ID == "" || kinds[m.ID]:
			return fmt.Errorf("scene: monster kind %q empty or repeated", m.ID)
		case m.MaxHP < 1 || m.Level < 0 || m.Speed < 0 || m.AggroRange < 0 || m.LeashRange < 0 || m.WanderRadius < 0:
			return fmt.Errorf("scene: monster kind %q: hp must be positive and ranges not negative", m.ID)
		case !skills[m.Skill]:
			return fmt.Errorf("scene: monster kind %q uses unknown skill %d", m.ID, m.Skill)
		}
		kinds[m.ID] = true
	}
	for i, sp := range c.Spawns {
		switch {
		case !kinds[sp.Monster]:
			return fmt.Errorf("scene: spawn %d: unknown monster kind %q", i, sp.Monster)
		case sp.Count < 1 || sp.Count > 100_000 || sp.Radius < 0:
			return fmt.Errorf("scene: spawn %d: count must be 1..100000 and radius not negative", i)
		case !inMap(sp.At, c.Width, c.Height):
			return fmt.Errorf("scene: spawn %d at %v outside the map", i, sp.At)
		}
	}
	return nil
}

// skill returns the skill with id.
func (c *Config) skill(id SkillID) (Skill, bool) {
	i := slices.IndexFunc(c.Skills, func(s Skill) bool { return s.ID == id })
	if i < 0 {
		return Skill{}, false
	}
	return c.Skills[i], true
}

// monsterKind returns the index of the kind named id, or -1.
func (c *Config) monsterKind(id string) int {
	return slices.IndexFunc(c.Monsters, func(m MonsterKind) bool { return m.ID == id })
}

func inMap(p Pos, w, h Fixed) bool { return p.X >= 0 && p.Y >= 0 && p.X <= w && p.Y <= h }
