-- Achievement rules. Called by the achievement function app through luavm:
--
--   progress, unlocks = on_event(event, progress)
--
-- event    {kind = "monster_killed", count = 1}      (count defaults to 1)
--          {kind = "mail_sent"}
--          {kind = "level_up", level = 12}
--          Other kinds are ignored: progress comes back unchanged, no unlocks.
-- progress the player's progress as returned by the previous call, or nil / {}
--          for a new player: {kills = n, mails_sent = n, level = n,
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
-- Tiers can be overridden live with the host config table "achievement":
-- {kill_tiers = {10, 100, 1000}, level_goal = 10}.

local DEFAULT_KILL_TIERS = {10, 100, 1000}
local DEFAULT_LEVEL_GOAL = 10

local function kill_reward(tier)
  return {effect.grant("gold", tier * 10)}
end

local function settings()
  local cfg = config.get("achievement") or {}
  return cfg.kill_tiers or DEFAULT_KILL_TIERS, cfg.level_goal or DEFAULT_LEVEL_GOAL
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
  local kill_tiers, level_goal = settings()

  if kind == "monster_killed" then
    local n = event.integer(e, "count", 1)
    if n < 1 or n > 1000000 then
      error("monster_killed count must be in [1, 1000000], got " .. n)
    end
    p.kills = p.kills + n
    for _, tier in ipairs(kill_tiers) do
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
    if p.level >= level_goal then
      unlock(p, unlocks, "level_" .. level_goal, "Seasoned", {effect.grant("gem", 5)})
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
  return #u == 1 and u[1].id == "level_10" and p.level == 10
end
