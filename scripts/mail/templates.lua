-- Mail templates. Called by the mail function app through luavm:
--
--   subject, body = render(template, params)
--   nil, reason   = render(template, params)   -- refused: nothing is sent
--
-- template  a template id below ("welcome", "achievement_reward", ...)
-- params    a table of strings {name = "..."}; the host has checked them
--           (at most 16, keys [a-z0-9_]{1,32}, values <= 256 bytes of text).
-- returns   the subject (1 to 64 bytes, one line) and the body (at most
--           1024 bytes; newlines allowed). The host checks both: text out of
--           limits is not sent as is, the mail goes out with a fallback text.
--
-- A placeholder {key} takes params[key]. Every placeholder of a template
-- must have its param unless listed in its "optional" set (then it renders
-- empty); a param no placeholder uses is refused, so that a typo in a caller
-- does not silently drop text. Unknown templates are refused.
--
-- While Lua is unavailable the host still delivers template mail (with its
-- attachments) under a fallback text, and renders it again when it is read.

local TEMPLATES = {
  -- The gift a new player finds on its first entry (player app).
  welcome = {
    subject = "Welcome, {name}!",
    body = "Welcome to the game, {name}. Here is a gift to start with: claim it from this mail.",
  },
  -- The reward of an unlocked achievement (achievement app).
  achievement_reward = {
    subject = "Achievement: {title}",
    body = "You unlocked \"{title}\". Your reward is attached.",
  },
  -- Operators (IDIP): compensation after downtime.
  compensation = {
    subject = "Sorry for the interruption",
    body = "The game was interrupted{reason}. Please accept this compensation.",
    optional = {reason = true},
  },
  -- Operators (IDIP): an event's reward, with the event's name.
  event_reward = {
    subject = "Event reward: {event}",
    body = "Thank you for taking part in {event}. Your reward is attached.{note}",
    optional = {note = true},
  },
  -- Operators (IDIP): free text under the house style.
  notice = {
    subject = "{title}",
    body = "{text}\n\n-- The game team",
  },
}

-- placeholders returns the set of {key}s of s, added to into.
local function placeholders(s, into)
  for key in string.gmatch(s, "{([%w_]+)}") do
    into[key] = true
  end
  return into
end

-- fill substitutes the placeholders of s.
local function fill(s, params)
  return (string.gsub(s, "{([%w_]+)}", function(key)
    return params[key] or ""
  end))
end

-- template_ids lists the ids, sorted (for operators' tools and tests).
function template_ids()
  local ids = {}
  for id in pairs(TEMPLATES) do
    ids[#ids + 1] = id
  end
  table.sort(ids)
  return ids
end

function render(id, params)
  if type(id) ~= "string" then
    return nil, "template id must be a string"
  end
  local t = TEMPLATES[id]
  if t == nil then
    return nil, "unknown template " .. id
  end
  params = params or {}
  local used = placeholders(t.body, placeholders(t.subject, {}))
  local optional = t.optional or {}
  for key in pairs(used) do
    local v = params[key]
    if v == nil and not optional[key] then
      return nil, "missing param " .. key
    end
    if v ~= nil and type(v) ~= "string" then
      return nil, "param " .. key .. " must be a string"
    end
  end
  for key in pairs(params) do
    if not used[key] then
      return nil, "unknown param " .. tostring(key)
    end
  end
  -- Optional params render with their own lead-in.
  local p = {}
  for k, v in pairs(params) do
    p[k] = v
  end
  if id == "compensation" and p.reason and p.reason ~= "" then
    p.reason = " (" .. p.reason .. ")"
  end
  if id == "event_reward" and p.note and p.note ~= "" then
    p.note = "\n\n" .. p.note
  end
  return fill(t.subject, p), fill(t.body, p)
end

-- self_test is run by luavm before a new generation of this module is
-- accepted: it must return true.
function self_test()
  local s, b = render("welcome", {name = "Ann"})
  if s ~= "Welcome, Ann!" or not string.find(b, "Ann", 1, true) then
    return false
  end
  local none, why = render("no_such_template", {})
  if none ~= nil or why ~= "unknown template no_such_template" then
    return false
  end
  for _, id in ipairs(template_ids()) do
    if type(TEMPLATES[id].subject) ~= "string" or type(TEMPLATES[id].body) ~= "string" then
      return false
    end
  end
  return true
end
