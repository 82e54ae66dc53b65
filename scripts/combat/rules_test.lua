-- Tests of rules.lua, run by `go test ./luavm/` (TestLuaScripts).

local function hit(def_hp, def_kind, def_type)
  return {
    attacker = {id = 1, kind = "player", level = 5, hp = 100, max_hp = 100},
    defender = {id = 2, kind = def_kind or "monster", type = def_type or "wolf", level = 2, hp = def_hp, max_hp = 60},
    skill = {id = 1, name = "strike", power = 20},
  }
end

function test_damage_within_the_formula()
  for seed = 1, 200 do
    local r = resolve({seed = seed, events = {hit(1000)}})
    -- 20 + 2*5 - 1 = 29, ±10 % = 26..31, doubled on a critical hit
    local d = r[1].damage
    if r[1].critical then
      expect.truthy(d >= 52 and d <= 62, "critical damage " .. d)
    else
      expect.truthy(d >= 26 and d <= 31, "damage " .. d)
    end
    expect.eq(r[1].xp, 0, "no kill, no experience")
    expect.eq(#r[1].drops, 0)
  end
end

function test_the_killing_event_carries_drops_and_xp()
  local r = resolve({seed = 3, events = {hit(40), hit(40), hit(40)}})
  expect.eq(#r, 3)
  -- 40 HP: the second hit kills (each does at least 26); the third hits a corpse.
  expect.eq(r[1].xp, 0)
  expect.eq(r[2].xp, 30, "10 × (level 2 + 1)")
  expect.eq(r[3].xp, 0, "a dead defender gives nothing more")
end

function test_players_drop_nothing()
  local r = resolve({seed = 5, events = {hit(1, "player", "")}})
  expect.eq(r[1].xp, 0)
  expect.eq(#r[1].drops, 0)
end

function test_same_seed_same_outcome()
  local a = resolve({seed = 99, events = {hit(10), hit(500)}})
  local b = resolve({seed = 99, events = {hit(10), hit(500)}})
  expect.eq(a, b)
end

function test_dragon_always_drops_scales()
  for seed = 1, 50 do
    local r = resolve({seed = seed, events = {hit(1, "monster", "dragon")}})
    local scales = 0
    for _, d in ipairs(r[1].drops) do
      if d.item == "dragon_scale" then scales = d.count end
    end
    expect.truthy(scales >= 1 and scales <= 2, "dragon scales " .. scales)
  end
end

function test_drop_items()
  expect.eq(drop_items(), {"boar_tusk", "bone", "dragon_scale", "gem", "gold", "iron_ore", "wolf_pelt"})
end
