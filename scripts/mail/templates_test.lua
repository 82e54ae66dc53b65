-- Tests of templates.lua, run by `go test ./luavm/` (TestLuaScripts).

function test_welcome()
  local s, b = render("welcome", {name = "player-abc123"})
  expect.eq(s, "Welcome, player-abc123!")
  expect.eq(b, "Welcome to the game, player-abc123. Here is a gift to start with: claim it from this mail.")
end

function test_achievement_reward()
  local s, b = render("achievement_reward", {title = "Pen pal"})
  expect.eq(s, "Achievement: Pen pal")
  expect.eq(b, "You unlocked \"Pen pal\". Your reward is attached.")
end

function test_optional_params()
  local _, b = render("compensation", {})
  expect.eq(b, "The game was interrupted. Please accept this compensation.")
  _, b = render("compensation", {reason = "database maintenance"})
  expect.eq(b, "The game was interrupted (database maintenance). Please accept this compensation.")
  local s
  s, b = render("event_reward", {event = "Winter Festival", note = "See you next year!"})
  expect.eq(s, "Event reward: Winter Festival")
  expect.eq(b, "Thank you for taking part in Winter Festival. Your reward is attached.\n\nSee you next year!")
end

function test_notice_keeps_newlines()
  local s, b = render("notice", {title = "Patch 1.2", text = "New dungeon.\nNew boss."})
  expect.eq(s, "Patch 1.2")
  expect.eq(b, "New dungeon.\nNew boss.\n\n-- The game team")
end

function test_refusals()
  local s, why = render("nope", {})
  expect.eq(s, nil)
  expect.eq(why, "unknown template nope")
  s, why = render("welcome", {})
  expect.eq(s, nil)
  expect.eq(why, "missing param name")
  s, why = render("welcome", {name = "a", nmae = "typo"})
  expect.eq(s, nil)
  expect.eq(why, "unknown param nmae")
  s, why = render(42, {})
  expect.eq(s, nil)
  expect.eq(why, "template id must be a string")
end

function test_params_are_not_patterns()
  -- A param that looks like a pattern or a placeholder is inserted as text.
  local s = render("welcome", {name = "%1 {name} %%"})
  expect.eq(s, "Welcome, %1 {name} %%!")
end

function test_nil_params_is_empty()
  local s, b = render("compensation", nil)
  expect.truthy(s)
  expect.eq(b, "The game was interrupted. Please accept this compensation.")
end

function test_every_template_listed()
  expect.eq(template_ids(), {"achievement_reward", "compensation", "event_reward", "notice", "welcome"})
end

function test_self_test_passes()
  expect.truthy(self_test())
end
