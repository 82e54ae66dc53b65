package scene

import (
	"strings"
	"testing"
)

func TestNewRefusesBadConfigs(t *testing.T) {
	base := func() Config {
		return Config{
			Width: 100 * Meter, Height: 100 * Meter, ViewRange: 10 * Meter,
			Skills:   []Skill{{ID: 1, Range: Meter}},
			Monsters: []MonsterKind{{ID: "rat", MaxHP: 1, Skill: 1}},
			Spawns:   []SpawnPoint{{Monster: "rat", At: P(1, 1), Count: 1}},
		}
	}
	if _, err := New(base()); err != nil {
		t.Fatalf("base config refused: %v", err)
	}
	cases := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"mode", func(c *Config) { c.Mode = 7 }, "unknown mode"},
		{"no map", func(c *Config) { c.Width = 0 }, "map size"},
		{"huge map", func(c *Config) { c.Height = MaxMapSize + 1 }, "map size"},
		{"no view", func(c *Config) { c.ViewRange = 0 }, "view range"},
		{"too many cells", func(c *Config) { c.Width, c.Height, c.ViewRange = 100_000*Meter, 100_000*Meter, 10*Meter }, "too small"},
		{"bad id", func(c *Config) { c.ID = "Main City" }, "id"},
		{"spawn outside", func(c *Config) { c.PlayerSpawn = P(101, 1) }, "player spawn"},
		{"negative speed", func(c *Config) { c.PlayerSpeed = -1 }, "negative"},
		{"repeated skill", func(c *Config) { c.Skills = append(c.Skills, Skill{ID: 1}) }, "repeated"},
		{"zero skill", func(c *Config) { c.Skills[0].ID = 0 }, "zero"},
		{"negative power", func(c *Config) { c.Skills[0].Power = -1 }, "negative"},
		{"monster without hp", func(c *Config) { c.Monsters[0].MaxHP = 0 }, "hp must be positive"},
		{"monster skill", func(c *Config) { c.Monsters[0].Skill = 9 }, "unknown skill"},
		{"repeated monster", func(c *Config) { c.Monsters = append(c.Monsters, c.Monsters[0]) }, "repeated"},
		{"spawn of nothing", func(c *Config) { c.Spawns[0].Monster = "dragon" }, "unknown monster"},
		{"spawn count", func(c *Config) { c.Spawns[0].Count = 0 }, "count"},
		{"spawn outside map", func(c *Config) { c.Spawns[0].At = P(1, 200) }, "outside the map"},
	}
	for _, c := range cases {
		cfg := base()
		c.edit(&cfg)
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to mention %q", c.name, err, c.want)
		}
	}
}
