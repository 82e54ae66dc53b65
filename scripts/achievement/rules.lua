-- Achievement rules. Called by the achievement function app through luavm:
--
--   progress, unlocks = on_event(event, progress)
--
-- event    {kind = "monster_killed", count = 1}      (count defaults to 1)
--          {kind = "mail_sent"}
--          {kind = "level_up", level = 12}
--          {kind = "item_gained", item = "wolf_pelt", count = 3}   (count defaults to 1)
--          {kind = "dungeon_cleared", count = 1}     (count defaults to 1)
--          Other kinds are ignored: progress comes back unchanged, no unlocks.
-- progress the player's progress as returned by the previous call, or nil / {}
--          for a new player: {kills = n, mails_sent = n, level = n,
--          items_gained = n, dungeons = n, scales = n,
--          unlocked = {[achievement id] = true}}.
-- returns  the new progress (same shape; the input is not modified) and a list
--          of unlocks, each {id = "kills_10", title = "...", reward = {effects}}
--          where effects are effect.grant{kind = "grant", item, count} tables.
--          An empty list comes back to Go as an empty map: check its length.
--
-- Each achievement unlocks once: its id stays in progress.unlocked. The caller
-- applies each event once (events are delivered at least once: dedupe by event
-- id before calling), stores the progress, and sends each unlock's reward by
-- mail with the idempotency key player/achievement id.
--
-- Achievements (id: title, reward):
--   kills_<tier>      "Slayer <tier>"          gold x10 the tier        (monster_killed)
--   first_mail        "Pen pal"                1 stamp                  (mail_sent)
--   level_<goal>      "Seasoned"               5 gems                   (level_up)
--   items_<tier>      "Collector <tier>"       potions: tier / 20       (item_gained, any item)
--   dragon_scales_10  "Dragon hunter"          10 gems                  (item_gained, dragon_scale)
--   dungeons_<tier>   "Delver <tier>"          elixirs: 1 + tier / 5    (dungeon_cleared)
--
-- Tiers can be overridden live with the host config table "achievement":
-- {kill_tiers = {10, 100, 1000}, level_goal = 10, item_tiers = {100, 1000},
--  dungeon_tiers = {1, 10, 50}}.

local DEFAULT_KILL_TIERS = {10, 100, 1000}
local DEFAULT_LEVEL_GOAL = 10
local DEFAULT_ITEM_TIERS = {100, 1000}
local DEFAULT_DUNGEON_TIERS = {1, 10, 50}
local SCALES_GOAL = 10

local function kill_reward(tier)
  return {effect.grant("gold", tier * 10)}
end

local function settings()
  local cfg = config.get("achievement") or {}
  return {
    kill_tiers = cfg.kill_tiers or DEFAULT_KILL_TIERS,
    level_goal = cfg.level_goal or DEFAULT_LEVEL_GOAL,
    item_tiers = cfg.item_tiers or DEFAULT_ITEM_TIERS,
    dungeon_tiers = cfg.dungeon_tiers or DEFAULT_DUNGEON_TIERS,
  }
end

-- counted reads the count of a counted event: 1 by default, in [1, 1e6].
local function counted(e, kind)
  local n = event.integer(e, "count", 1)
  if n < 1 or n > 1000000 then
    error(kind .. " count must be in [1, 1000000], got " .. n)
  end
  return n
end

-- copy returns a fresh progress table with every field present.
local function copy(progress)
  progress = progress or {}
  local unlocked = {}
  for id, v in pairs(progress.unlocked or {}) do
    unlocked[id] = v
  end
  return {
    kills = progress.kills or 0,
    mails_sent = progress.mails_sent or 0,
    level = progress.level or 0,
    items_gained = progress.items_gained or 0,
    scales = progress.scales or 0,
    dungeons = progress.dungeons or 0,
    unlocked = unlocked,
  }
end

local function unlock(p, unlocks, id, title, reward)
  if p.unlocked[id] then
    return
  end
  p.unlocked[id] = true
  unlocks[#unlocks + 1] = {id = id, title = title, reward = reward}
end

function on_event(e, progress)
  local kind = event.kind(e)
  local p = copy(progress)
  local unlocks = {}
  local cfg = settings()

  if kind == "monster_killed" then
    p.kills = p.kills + counted(e, kind)
    for _, tier in ipairs(cfg.kill_tiers) do
      if p.kills >= tier then
        unlock(p, unlocks, "kills_" .. tier, "Slayer " .. tier, kill_reward(tier))
      end
    end
  elseif kind == "mail_sent" then
    p.mails_sent = p.mails_sent + 1
    unlock(p, unlocks, "first_mail", "Pen pal", {effect.grant("stamp", 1)})
  elseif kind == "level_up" then
    local level = event.integer(e, "level")
    if level < 1 then
      error("level_up level must be positive, got " .. level)
    end
    if level > p.level then
      p.level = level
    end
    if p.level >= cfg.level_goal then
      unlock(p, unlocks, "level_" .. cfg.level_goal, "Seasoned", {effect.grant("gem", 5)})
    end
  elseif kind == "item_gained" then
    local item = event.string(e, "item")
    local n = counted(e, kind)
    p.items_gained = p.items_gained + n
    for _, tier in ipairs(cfg.item_tiers) do
      if p.items_gained >= tier then
        unlock(p, unlocks, "items_" .. tier, "Collector " .. tier, {effect.grant("potion", math.max(1, math.floor(tier / 20)))})
      end
    end
    if item == "dragon_scale" then
      p.scales = p.scales + n
      if p.scales >= SCALES_GOAL then
        unlock(p, unlocks, "dragon_scales_10", "Dragon hunter", {effect.grant("gem", 10)})
      end
    end
  elseif kind == "dungeon_cleared" then
    p.dungeons = p.dungeons + counted(e, kind)
    for _, tier in ipairs(cfg.dungeon_tiers) do
      if p.dungeons >= tier then
        unlock(p, unlocks, "dungeons_" .. tier, "Delver " .. tier, {effect.grant("elixir", 1 + math.floor(tier / 5))})
      end
    end
  end
  return p, unlocks
end

-- self_test is run by luavm before a new generation of this module is
-- accepted: it must return true.
function self_test()
  local p, u = on_event({kind = "monster_killed", count = 10}, nil)
  if p.kills ~= 10 or #u ~= 1 or u[1].id ~= "kills_10" then
    return false
  end
  p, u = on_event({kind = "monster_killed"}, p)
  if p.kills ~= 11 or #u ~= 0 then
    return false
  end
  p, u = on_event({kind = "mail_sent"}, p)
  if #u ~= 1 or u[1].reward[1].item ~= "stamp" then
    return false
  end
  p, u = on_event({kind = "level_up", level = 10}, p)
  if #u ~= 1 or u[1].id ~= "level_10" or p.level ~= 10 then
    return false
  end
  p, u = on_event({kind = "item_gained", item = "dragon_scale", count = 10}, p)
  if #u ~= 1 or u[1].id ~= "dragon_scales_10" or p.items_gained ~= 10 then
    return false
  end
  p, u = on_event({kind = "dungeon_cleared"}, p)
  return #u == 1 and u[1].id == "dungeons_1" and p.dungeons == 1
end
