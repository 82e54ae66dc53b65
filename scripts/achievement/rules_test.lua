-- Tests of rules.lua, run by `go test ./luavm/` (TestLuaScripts).

function test_new_player_progress()
  local p, u = on_event({kind = "monster_killed"}, nil)
  expect.eq(p, {kills = 1, mails_sent = 0, level = 0, items_gained = 0, scales = 0, dungeons = 0, unlocked = {}})
  expect.eq(#u, 0)
end

function test_kill_tiers_unlock_once()
  local p, u = on_event({kind = "monster_killed", count = 9}, {})
  expect.eq(#u, 0)
  p, u = on_event({kind = "monster_killed"}, p)
  expect.eq(#u, 1)
  expect.eq(u[1].id, "kills_10")
  expect.eq(u[1].reward, {{kind = "grant", item = "gold", count = 100}})
  p, u = on_event({kind = "monster_killed", count = 5}, p)
  expect.eq(#u, 0, "kills_10 unlocks only once")
  p, u = on_event({kind = "monster_killed", count = 1000}, p)
  expect.eq(#u, 2, "a big batch crosses two tiers at once")
  expect.eq(u[1].id, "kills_100")
  expect.eq(u[2].id, "kills_1000")
  expect.eq(p.kills, 1015)
end

function test_first_mail()
  local p, u = on_event({kind = "mail_sent"}, nil)
  expect.eq(u[1].id, "first_mail")
  p, u = on_event({kind = "mail_sent"}, p)
  expect.eq(#u, 0)
  expect.eq(p.mails_sent, 2)
end

function test_level_goal()
  local p, u = on_event({kind = "level_up", level = 9}, nil)
  expect.eq(#u, 0)
  p, u = on_event({kind = "level_up", level = 11}, p)
  expect.eq(u[1].id, "level_10")
  p, u = on_event({kind = "level_up", level = 5}, p)
  expect.eq(p.level, 11, "level never goes down")
  expect.eq(#u, 0)
end

function test_input_not_modified()
  local before = {kills = 3, mails_sent = 0, level = 0, unlocked = {}}
  on_event({kind = "monster_killed", count = 20}, before)
  expect.eq(before.kills, 3)
  expect.eq(before.unlocked, {})
end

function test_unknown_event_ignored()
  local p, u = on_event({kind = "sneezed"}, {kills = 4})
  expect.eq(p.kills, 4)
  expect.eq(#u, 0)
end

function test_bad_events_rejected()
  expect.error(function() on_event({}, nil) end, "event has no kind")
  expect.error(function() on_event({kind = "monster_killed", count = "ten"}, nil) end, "must be a number")
  expect.error(function() on_event({kind = "monster_killed", count = 1.5}, nil) end, "must be an integer")
  expect.error(function() on_event({kind = "monster_killed", count = -3}, nil) end, "count must be in")
  expect.error(function() on_event({kind = "level_up"}, nil) end, "is missing")
end

function test_item_gained_tiers()
  local p, u = on_event({kind = "item_gained", item = "wolf_pelt", count = 99}, nil)
  expect.eq(#u, 0)
  expect.eq(p.items_gained, 99)
  p, u = on_event({kind = "item_gained", item = "bone"}, p)
  expect.eq(#u, 1)
  expect.eq(u[1].id, "items_100")
  expect.eq(u[1].title, "Collector 100")
  expect.eq(u[1].reward, {{kind = "grant", item = "potion", count = 5}})
  p, u = on_event({kind = "item_gained", item = "bone", count = 900}, p)
  expect.eq(u[1].id, "items_1000")
  expect.eq(u[1].reward, {{kind = "grant", item = "potion", count = 50}})
  p, u = on_event({kind = "item_gained", item = "bone", count = 5000}, p)
  expect.eq(#u, 0, "each tier unlocks once")
end

function test_dragon_scales()
  local p, u = on_event({kind = "item_gained", item = "dragon_scale", count = 4}, nil)
  expect.eq(#u, 0)
  p, u = on_event({kind = "item_gained", item = "iron_ore", count = 20}, p)
  expect.eq(#u, 0, "other items do not count as scales")
  expect.eq(p.scales, 4)
  p, u = on_event({kind = "item_gained", item = "dragon_scale", count = 6}, p)
  expect.eq(#u, 1)
  expect.eq(u[1].id, "dragon_scales_10")
  expect.eq(u[1].reward, {{kind = "grant", item = "gem", count = 10}})
end

function test_dungeon_tiers()
  local p, u = on_event({kind = "dungeon_cleared"}, nil)
  expect.eq(u[1].id, "dungeons_1")
  expect.eq(u[1].reward, {{kind = "grant", item = "elixir", count = 1}})
  p, u = on_event({kind = "dungeon_cleared", count = 8}, p)
  expect.eq(#u, 0)
  p, u = on_event({kind = "dungeon_cleared"}, p)
  expect.eq(u[1].id, "dungeons_10")
  expect.eq(u[1].reward, {{kind = "grant", item = "elixir", count = 3}})
  p, u = on_event({kind = "dungeon_cleared", count = 100}, p)
  expect.eq(u[1].id, "dungeons_50")
  expect.eq(p.dungeons, 110)
end

function test_new_kinds_reject_bad_events()
  expect.error(function() on_event({kind = "item_gained", count = 2}, nil) end, "is missing")
  expect.error(function() on_event({kind = "item_gained", item = "bone", count = 0}, nil) end, "count must be in")
  expect.error(function() on_event({kind = "dungeon_cleared", count = -1}, nil) end, "count must be in")
end

function test_self_test_passes()
  expect.truthy(self_test())
end
