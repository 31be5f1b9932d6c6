--[[
  Records the end of runs, each fenced by its attempt (several at once: the broker gathers the
  finishes of one tick into one call; each is applied as if alone, in order). Success releases
  the dependents whose dependencies have now all succeeded; error/killed (without retry) fails
  every transitive dependent that is not complete; an error with retryAt puts the task back to
  pending, delayed until then.

  KEYS[1]  key prefix
  ARGV[1]  now (ms)
  ARGV[2]  origin: the caller's instance id, put in the events (see setOrigin), or ""
  ARGV[3]  "1" if the caller listens on the events channel (see setOrigin)
  ARGV[4…] groups of 5: task id, attempt ("" for unfenced: applies if the task is not complete),
           status (success | error | killed), codec text (result or error), retryAt ("" for none)

  Returns, per group, {applied (0|1), newWork (0|1), ...ids of dependents failed}.
  Publishes task_status (successes in one message) and new_work for what changed; the events
  of completions carry the results/errors of up to 4 KB (`outcomes`).
]]
--- @include "base"

local now = tonumber(ARGV[1])
-- Given to redis.call as text: a number would be printed (sprintf) at every call.
local nowText = ARGV[1]
setOrigin(ARGV[2], ARGV[3])
local succeeded = {}
local results = {}
local fromRunning = {}
local anyNewWork = false

local function finish(id, attempt, status, text, retryAt)
  local key = tkey(id)
  local v = redis.call('HMGET', key, 'status', 'attempt', '_n')
  local st = v[1]
  if not st then return { 0, 0 } end
  if attempt == '' then
    if COMPLETE[st] then return { 0, 0 } end
  elseif not ((st == 'running' or st == 'suspended') and v[2] == attempt) then
    return { 0, 0 }
  end
  local nid = tonumber(id)

  if status == 'success' then
    if st == 'running' or st == 'suspended' then
      -- The common case, in as few calls as possible: a running task is in no ready/delayed set.
      redis.call('HSET', key, 'status', 'success', 'finishedAt', nowText, 'result', text)
      redis.call('HDEL', key, 'leaseUntil', 'error')
      -- Index updates of all the batch's successes are made at the end, in one call each.
      if st == 'running' then
        fromRunning[#fromRunning + 1] = id
      else
        redis.call('ZREM', P .. 'st:' .. st, id)
        redis.call('ZREM', P .. 'leases', id)
      end
    else
      complete(id, st, 'success', now)
      redis.call('HSET', key, 'result', text)
      redis.call('HDEL', key, 'error')
    end
    local newWork = 0
    -- `_n`: no task depends on it (set by submit-1, removed when one does; tasks stored
    -- before it have no `_n` and are looked up).
    local dependents = v[3] == '1' and {} or redis.call('SMEMBERS', P .. 'd:' .. id)
    for _, d in ipairs(dependents) do
      local dkey = tkey(d)
      local remaining = redis.call('HINCRBY', dkey, '_r', -1)
      if remaining == 0 and redis.call('HGET', dkey, 'status') == 'pending' then
        enqueue(d, now)
        newWork = 1
      end
    end
    succeeded[#succeeded + 1] = id
    results[#results + 1] = text
    if newWork == 1 then anyNewWork = true end
    return { 1, newWork }
  end

  redis.call('HSET', key, 'error', text)
  if status == 'error' and retryAt ~= '' then
    unqueue(id)
    setStatus(id, st, 'pending')
    redis.call('HINCRBY', key, 'retryCount', 1)
    redis.call('HSET', key, 'runAt', retryAt)
    redis.call('HDEL', key, 'leaseUntil', 'worker')
    redis.call('ZREM', P .. 'leases', id)
    enqueue(id, now)
    publishStatus('pending', { nid })
    anyNewWork = true
    return { 1, 1 }
  end

  complete(id, st, status, now)
  local failed = {}
  local dependentError = failedText(id, status)
  propagate(id, status, now, dependentError, failed)
  publishStatus(status, { nid }, text)
  publishStatus('error', failed, dependentError)
  local out = { 1, 0 }
  for _, d in ipairs(failed) do out[#out + 1] = d end
  return out
end

local replies = {}
for i = 4, #ARGV, 5 do
  replies[#replies + 1] = finish(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4])
end
if #fromRunning > 0 then
  redis.call('ZREM', P .. 'st:running', unpack(fromRunning))
  redis.call('ZREM', P .. 'leases', unpack(fromRunning))
end
if #succeeded > 0 then
  local scored = {}
  for _, id in ipairs(succeeded) do
    scored[#scored + 1] = id
    scored[#scored + 1] = id
  end
  redis.call('ZADD', P .. 'st:success', unpack(scored))
end
publishStatus('success', succeeded, results)
if anyNewWork then publishNewWork() end
return replies
