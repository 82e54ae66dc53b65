package guild_test

import (
	"testing"

	"github.com/gamemesh/gamemesh"
	"github.com/gamemesh/gamemesh/functions/functionstest"
	"github.com/gamemesh/gamemesh/functions/guild"
	gamev1 "github.com/gamemesh/gamemesh/proto/game/v1"
)

// Uniqueness ignores more than ASCII case and full-width letters: composed
// and decomposed accents, full case folding (ß = ss), half-width katakana.
func TestNamesFoldBeyondASCII(t *testing.T) {
	e := newEnv(t, guild.Config{})
	ctx := functionstest.Context(t)
	for _, group := range [][]string{
		{"Café", "Cafe\u0301", "CAFÉ", "ＣＡＦÉ", "cafe\u0301"},
		{"Straße", "STRASSE", "strasse", "ｓｔｒａｓｓｅ"},
		{"ドラゴン", "ﾄﾞﾗｺﾞﾝ"},
		{"Ωmega", "ωMEGA", "ΩＭＥＧＡ"},
	} {
		e.create(t, e.newPlayer(), group[0], false)
		for _, name := range group[1:] {
			before := e.mem.Snapshot()
			_, err := e.do(ctx, e.newPlayer(), "create", &gamev1.CreateGuildRequest{Name: name})
			wantErr(t, err, gamemesh.CodeConflict, "guild name is taken")
			functionstest.WantSame(t, before, e.mem.Snapshot())
		}
	}
	// Similar but different names stay different.
	for _, name := range []string{"Cafe", "Strase", "ドラゴ"} {
		e.create(t, e.newPlayer(), name, false)
	}
}
