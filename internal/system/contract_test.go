package system

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions"
	"github.com/gamemesh/gamemesh/functions/achievement"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
	"github.com/gamemesh/gamemesh/scene"
	"github.com/gamemesh/gamemesh/scenehost"
)

// Every kind of game event a scene host publishes is one the achievement
// app and the repository's Lua rules take: each is applied and counted, none
// is refused or makes the rules fail (which would dead-letter it after its
// retries). This is the contract between scenehost and scripts/achievement.
func TestSceneEventsReachTheAchievementRules(t *testing.T) {
	l := startLua(t, openLuaData(t, t.TempDir()), LuaConfig{ScriptsDir: filepath.Join("..", "..", "scripts")})
	reg := functions.NewRegistry()
	app, err := achievement.New(achievement.Config{}, achievement.Deps{Store: functionstest.NewMemStore(time.Now),
		Invoker: functionstest.Invoker{Registry: reg}, Rules: luaRules{l}})
	if err != nil {
		t.Fatal(err)
	}
	app.Register(reg)
	player := gamemesh.NewPlayerID()
	events := []scene.Event{
		{Kind: scene.EventMonsterKilled, Tick: 1, Player: player, Type: "wolf"},
		{Kind: scene.EventLevelUp, Tick: 2, Player: player, Level: 2},
		{Kind: scene.EventItemGained, Tick: 3, Player: player, Type: "wolf_pelt", Count: 2},
		{Kind: scene.EventCleared, Tick: 4, Player: player},
	}
	seen := map[string]bool{}
	for i, ev := range events {
		e, ok := scenehost.GameEvent("run1", i, ev, time.Now())
		if !ok {
			t.Fatalf("scene event %v is not published", ev.Kind)
		}
		var ge gamev1.GameEvent
		if err := proto.Unmarshal(e.Data, &ge); err != nil {
			t.Fatal(err)
		}
		seen[ge.Kind] = true
		var out gamev1.RecordEventResponse
		// Achievements may mail rewards; no mail app here, so an unlock stays
		// pending — what matters is that the rules take the event.
		err := functionstest.CallAs(context.Background(), reg, "", "", achievement.AppName, "record", &ge, &out)
		if err != nil && gamemesh.CodeOf(err) != gamemesh.CodeUnknownRoute {
			t.Fatalf("%s event refused: %v", ge.Kind, err)
		}
		if out.Duplicate {
			t.Fatalf("%s event counted as a duplicate", ge.Kind)
		}
	}
	for _, k := range []string{scenehost.KindMonsterKilled, scenehost.KindLevelUp, scenehost.KindItemGained, scenehost.KindDungeonCleared} {
		if !seen[k] {
			t.Errorf("kind %s never published", k)
		}
	}
	var list gamev1.ListAchievementsResponse
	if err := functionstest.CallAs(context.Background(), reg, player, "", achievement.AppName, "list", &gamev1.ListAchievementsRequest{}, &list); err != nil {
		t.Fatal(err)
	}
	if list.Counters["items_gained"] != 2 || list.Counters["kills"] != 1 {
		t.Fatalf("counters %v: want 2 items gained and 1 kill", list.Counters)
	}
}
