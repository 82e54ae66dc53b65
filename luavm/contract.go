package luavm

// RequiredExports are the functions the game's hosts require of the modules
// under scripts/ (pass it as Options.Required):
//
//   - achievement: on_event(event, progress) -> progress, unlocks. See
//     scripts/achievement/rules.lua and scripts/README.md for the shapes.
//   - mail: render(template, params) -> subject, body (or nil, reason). See
//     scripts/mail/templates.lua.
//   - combat: resolve(batch) -> results, one call per scene tick (package
//     scenehost, scripts/combat/rules.lua).
var RequiredExports = map[string][]string{
	"achievement": {"on_event"},
	"combat":      {"resolve"},
	"mail":        {"render"},
}
