--[[
  Helpers shared by the scripts: defined once in the function library (Redis 7), or inlined
  where a script says `--- @include "base"` (EVAL). `begin(KEYS)` starts every call (the
  loader puts it in: scripts.ts). KEYS[1] is the key prefix ("aque:" by default); every key is
  built from it:
    <p>t:<id>        hash of a task (codec texts verbatim; `_r` remaining dependencies, `_k` dispatch key,
                     `_n` set while no task depends on it)
    <p>d:<id>        set of the ids that depend on task <id>
    <p>ready         zset of ready tasks, all scores 0, members `_k .. %016d(id)` (lexicographic dispatch order)
    <p>delayed       zset of ready tasks waiting for runAt (score runAt)
    <p>leases        zset of running tasks (score leaseUntil)
    <p>st:<status>   zset of the ids in that status (score id): counts and search
    <p>all           zset of every id (score id); <p>p:<parent> the same per parent
    <p>o:<id>        list of output chunks; <p>oo:<id> hash of byte offsets per stream
    <p>events        the pub/sub channel
]]
-- The call's key prefix, origin and silence (see setOrigin), set by begin: in the function
-- library they outlive a call, so each call sets them first.
local P, ORIGIN_FIELD, SILENT = '', '', false
local function begin(keys)
  P, ORIGIN_FIELD, SILENT = keys[1], '', false
end
-- The codec texts of DependencyFailedError for a dependency that ended in error or killed, with
-- a placeholder for its id (FAILED_TEXTS, FAILED_ID: written in when the scripts are loaded).
--- @failed-texts
-- Set by a script whose caller delivers the script's events to its own process itself (from the
-- reply, sooner than pub/sub would): `,"o":<its instance id>` in every event, which it skips.
-- `subscribed` is "1" when the caller listens on the channel itself: if it is then the only
-- subscriber, nobody else would hear the events and none is published (no traffic, no wake-up
-- of the caller for events it skips). One that subscribes later reads the stored state first.
local function setOrigin(origin, subscribed)
  if origin ~= '' then ORIGIN_FIELD = ',"o":' .. cjson.encode(origin) end
  if subscribed == '1' then SILENT = redis.call('PUBSUB', 'NUMSUB', P .. 'events')[2] <= 1 end
end
local COMPLETE = { success = true, error = true, killed = true }

local function tkey(id)
  return P .. 't:' .. id
end

local function readyMember(id, k)
  return k .. string.format('%016d', id)
end

local function setStatus(id, from, to)
  redis.call('HSET', tkey(id), 'status', to)
  if from then
    redis.call('ZREM', P .. 'st:' .. from, id)
  end
  redis.call('ZADD', P .. 'st:' .. to, id, id)
end

-- Takes a task out of the ready and delayed sets (whichever holds it).
local function unqueue(id)
  local k = redis.call('HGET', tkey(id), '_k')
  if k then
    redis.call('ZREM', P .. 'ready', readyMember(id, k))
  end
  redis.call('ZREM', P .. 'delayed', id)
end

-- Puts a task whose dependencies all succeeded in the ready set, or the delayed one before
-- runAt, given its runAt (a string, or false/"" for none) and dispatch key `k`.
local function enqueueAs(id, runAtText, k, now)
  local runAt = tonumber(runAtText)
  if runAt and runAt > now then
    redis.call('ZADD', P .. 'delayed', runAt, id)
  else
    redis.call('ZADD', P .. 'ready', 0, readyMember(id, k or ''))
  end
end

-- The same for a stored task: its runAt and dispatch key are read from its hash.
local function enqueue(id, now)
  local v = redis.call('HMGET', tkey(id), 'runAt', '_k')
  enqueueAs(id, v[1], v[2], now)
end

local function complete(id, from, to, now)
  unqueue(id)
  setStatus(id, from, to)
  redis.call('HSET', tkey(id), 'finishedAt', now)
  redis.call('HDEL', tkey(id), 'leaseUntil')
  redis.call('ZREM', P .. 'leases', id)
end

-- The stored error of a dependent of failed task `id` (which ended in `status`).
local function failedText(id, status)
  local tpl = FAILED_TEXTS.error
  if status == 'killed' then tpl = FAILED_TEXTS.killed end
  return (string.gsub(tpl, FAILED_ID, tostring(id)))
end

-- Fails every not-complete transitive dependent of `root` (iterative, no recursion). Appends to `out`.
local function propagate(root, status, now, text, out)
  local stack = { root }
  while #stack > 0 do
    local x = table.remove(stack)
    local deps = redis.call('SMEMBERS', P .. 'd:' .. x)
    for _, d in ipairs(deps) do
      local st = redis.call('HGET', tkey(d), 'status')
      if st and not COMPLETE[st] then
        complete(d, st, 'error', now)
        redis.call('HSET', tkey(d), 'error', text, 'failedDependency', root)
        out[#out + 1] = tonumber(d)
        stack[#stack + 1] = d
      end
    end
  end
end

-- Outcome texts longer than this stay out of status events (a waiter reads them back).
local OUTCOME_MAX = 4096
-- At most this many bytes of outcome texts go into one status event.
local OUTCOMES_BUDGET = 262144

-- Publishes an event to every process, as the broker's _publish does: {"event":…, "payload":…}.
-- `texts` (optional) holds the codec text of each id's result or error, in the order of `ids`
-- (or one text for all of them): the small ones travel in the event (`outcomes`), so that a
-- waiting Future need not read them back.
local function publishStatus(status, ids, texts)
  if #ids == 0 or SILENT then return end
  local outcomes = ''
  if texts then
    local parts, budget = {}, OUTCOMES_BUDGET
    for i, id in ipairs(ids) do
      local text = texts
      if type(texts) == 'table' then text = texts[i] end
      if text and #text <= OUTCOME_MAX and #text <= budget then
        budget = budget - #text
        parts[#parts + 1] = '"' .. id .. '":' .. cjson.encode(text)
      end
    end
    if #parts > 0 then outcomes = ',"outcomes":{' .. table.concat(parts, ',') .. '}' end
  end
  redis.call('PUBLISH', P .. 'events', '{"event":"task_status","payload":{"ids":[' .. table.concat(ids, ',') .. '],"status":"' .. status .. '"' .. outcomes .. '}' .. ORIGIN_FIELD .. '}')
end

local function publishNewWork()
  if SILENT then return end
  redis.call('PUBLISH', P .. 'events', '{"event":"new_work","payload":{}' .. ORIGIN_FIELD .. '}')
end
