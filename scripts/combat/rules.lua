-- Combat rules of the scenes: damage formulas, drop tables and experience.
-- The scene host calls resolve(batch) ONCE per tick per scene with every
-- cast of that tick, so a tick crosses to a locked Lua worker once.
--
-- batch  = {scene, tick, seed, events = {{attacker, defender, skill}, ...}}
--   attacker/defender = {id, kind = "player"|"monster", type, level, hp, max_hp}
--   skill = {id, name, power}
-- returns {{damage, critical, xp, drops = {{item, count}, ...}}, ...}, one
-- per event, in order. Events are applied in order against the defender's HP
-- at the start of the tick: the event that takes it to 0 is the killing one
-- and alone carries the drops and experience. Randomness comes from
-- batch.seed only, so a scene replays identically.
--
-- Live tuning: config table "combat" = {crit_percent = 10, xp_scale = 1}.

local MOD = 2147483647 -- 2^31 - 1: a Park–Miller generator stays exact in doubles

local function generator(seed)
  local state = seed % (MOD - 1) + 1
  return function(lo, hi) -- an integer in [lo, hi]
    state = (state * 48271) % MOD
    return lo + state % (hi - lo + 1)
  end
end

-- Drop tables: percent chance of min..max items. Every item must be in
-- gamedata/items.json (the host's tests check drop_items()).
local drop_tables = {
  wolf = {
    {item = "gold", percent = 80, min = 1, max = 5},
    {item = "wolf_pelt", percent = 40, min = 1, max = 1},
    {item = "bone", percent = 20, min = 1, max = 2},
  },
  boar = {
    {item = "gold", percent = 90, min = 2, max = 8},
    {item = "boar_tusk", percent = 50, min = 1, max = 2},
  },
  skeleton = {
    {item = "gold", percent = 100, min = 3, max = 10},
    {item = "bone", percent = 60, min = 1, max = 3},
    {item = "iron_ore", percent = 30, min = 1, max = 2},
  },
  dragon = {
    {item = "gold", percent = 100, min = 20, max = 50},
    {item = "dragon_scale", percent = 100, min = 1, max = 2},
    {item = "gem", percent = 50, min = 1, max = 1},
  },
}

local function settings()
  local cfg = config.get("combat") or {}
  return {crit = cfg.crit_percent or 10, xp_scale = cfg.xp_scale or 1}
end

-- The skill's power plus twice the attacker's level, less half the
-- defender's, ±10 %, doubled on a critical hit; at least 1.
local function damage(attacker, defender, skill, roll, s)
  local base = skill.power + 2 * attacker.level - math.floor(defender.level / 2)
  base = math.floor(base * roll(90, 110) / 100)
  local crit = roll(0, 99) < s.crit
  if crit then
    base = base * 2
  end
  if base < 1 then
    base = 1
  end
  return base, crit
end

local function roll_drops(monster_type, roll)
  local out = {}
  for _, c in ipairs(drop_tables[monster_type] or {}) do
    if roll(0, 99) < c.percent then
      local n = roll(c.min, c.max)
      if n > 0 then
        out[#out + 1] = {item = c.item, count = n}
      end
    end
  end
  return out
end

local function experience(level, s)
  return math.floor(10 * (level + 1) * s.xp_scale)
end

function resolve(batch)
  local roll = generator(batch.seed)
  local s = settings()
  local hp = {}
  local out = {}
  for i, ev in ipairs(batch.events) do
    local d = ev.defender
    local key = tostring(d.id)
    local left = hp[key] or d.hp
    local dmg, crit = damage(ev.attacker, d, ev.skill, roll, s)
    local r = {damage = dmg, critical = crit, xp = 0, drops = {}}
    if left > 0 and left - dmg <= 0 and d.kind == "monster" then
      r.drops = roll_drops(d.type, roll)
      r.xp = experience(d.level, s)
    end
    hp[key] = left - dmg
    out[i] = r
  end
  return out
end

-- drop_items lists every item a drop table may give, sorted.
function drop_items()
  local seen, out = {}, {}
  for _, t in pairs(drop_tables) do
    for _, c in ipairs(t) do
      if not seen[c.item] then
        seen[c.item] = true
        out[#out + 1] = c.item
      end
    end
  end
  table.sort(out)
  return out
end

function self_test()
  local r = resolve({seed = 7, events = {
    {attacker = {level = 1}, defender = {id = 1, kind = "monster", type = "wolf", level = 1, hp = 1}, skill = {power = 20}},
  }})
  return #r == 1 and r[1].damage >= 1 and r[1].xp > 0
end
