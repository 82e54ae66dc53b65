package scenehost

import (
	"time"

	"github.com/gamemesh/gamemesh/scene"
)

// SceneDef describes a kind of scene a host can run: a static one (one
// instance, always loaded, named Name) or a dungeon template (instances
// named Name-<id>, created on demand, closed when empty).
type SceneDef struct {
	// Name is the scene id of a static scene, the template name of a dungeon.
	Name string
	// Static scenes are claimed at start and kept loaded.
	Static bool
	// PvP lets players attack each other here while feature "pvp" is on.
	PvP bool
	// Config is the scene's configuration; ID, Seed and Rules are set by the host.
	Config scene.Config
}

// Skills shared by the shipped scenes.
const (
	SkillStrike scene.SkillID = 1   // melee, players
	SkillBolt   scene.SkillID = 2   // ranged, players
	skillBite   scene.SkillID = 100 // wolves
	skillGore   scene.SkillID = 101 // boars
	skillClaw   scene.SkillID = 102 // skeletons
	skillFlame  scene.SkillID = 103 // the crypt's dragon
)

// CityName is the static scene every player reaches at login.
const CityName = "city"

// CitySpawn is where players appear in the city, in metres.
var CitySpawn = scene.P(200, 200)

func skills() []scene.Skill {
	return []scene.Skill{
		{ID: SkillStrike, Name: "strike", Range: 3 * scene.Meter, Cooldown: 10, Power: 20, Player: true},
		{ID: SkillBolt, Name: "bolt", Range: 15 * scene.Meter, Cooldown: 40, Power: 30, Player: true},
		{ID: skillBite, Name: "bite", Range: 2500, Cooldown: 20, Power: 4},
		{ID: skillGore, Name: "gore", Range: 3 * scene.Meter, Cooldown: 30, Power: 8},
		{ID: skillClaw, Name: "claw", Range: 2500, Cooldown: 20, Power: 6},
		{ID: skillFlame, Name: "flame", Range: 8 * scene.Meter, Cooldown: 40, Power: 14},
	}
}

// DefaultScenes returns the shipped world: the city (400×400 m, nine-grid,
// wolves and boars around the spawn, respawning) and the crypt dungeon (a
// small full-sync instance of skeletons and a dragon that never respawn:
// killing them all clears it).
func DefaultScenes() []SceneDef {
	m := scene.Meter
	city := scene.Config{
		Mode: scene.ModeGrid, Width: 400 * m, Height: 400 * m, ViewRange: 30 * m,
		PlayerSpawn: CitySpawn, Skills: skills(),
		Monsters: []scene.MonsterKind{
			{ID: "wolf", Level: 1, MaxHP: 60, Speed: 4 * m, AggroRange: 5 * m, LeashRange: 25 * m, WanderRadius: 6 * m, Skill: skillBite},
			{ID: "boar", Level: 3, MaxHP: 120, Speed: 3 * m, AggroRange: 3 * m, LeashRange: 20 * m, WanderRadius: 4 * m, Skill: skillGore},
		},
	}
	for i, at := range []scene.Pos{scene.P(180, 180), scene.P(220, 180), scene.P(180, 220), scene.P(220, 220), scene.P(200, 150), scene.P(200, 250)} {
		kind := "wolf"
		if i%3 == 2 {
			kind = "boar"
		}
		city.Spawns = append(city.Spawns, scene.SpawnPoint{Monster: kind, At: at, Count: 12, Radius: 15 * m, RespawnTicks: 200})
	}
	crypt := scene.Config{
		Mode: scene.ModeFull, Width: 60 * m, Height: 60 * m, ViewRange: 60 * m, MaxPlayers: 5,
		PlayerSpawn: scene.P(5, 5), Skills: skills(),
		Monsters: []scene.MonsterKind{
			{ID: "skeleton", Level: 4, MaxHP: 80, Speed: 3 * m, AggroRange: 6 * m, LeashRange: 30 * m, WanderRadius: 3 * m, Skill: skillClaw},
			{ID: "dragon", Level: 8, MaxHP: 400, Speed: 2 * m, AggroRange: 8 * m, LeashRange: 20 * m, Skill: skillFlame},
		},
		Spawns: []scene.SpawnPoint{
			{Monster: "skeleton", At: scene.P(15, 15), Count: 3, Radius: 3 * m},
			{Monster: "skeleton", At: scene.P(30, 20), Count: 3, Radius: 3 * m},
			{Monster: "dragon", At: scene.P(45, 45), Count: 1},
		},
	}
	return []SceneDef{
		{Name: CityName, Static: true, PvP: true, Config: city},
		{Name: "crypt", Config: crypt},
	}
}

// emptyGrace is the default Config.InstanceGrace.
const emptyGrace = 10 * time.Second
