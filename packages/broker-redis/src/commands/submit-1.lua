--[[
  Creates a batch of tasks atomically: nobody sees part of it (so `creating` is never visible;
  the tasks appear `pending` at once), ids are consecutive in batch order.

  KEYS[1]  key prefix
  ARGV[1]  now (ms)
  ARGV[2]  number of tasks n
  ARGV[3]  origin: the caller's instance id, put in the events (see setOrigin), or ""
  ARGV[4]  "1" if the caller listens on the events channel (see setOrigin)
  ARGV[5 + 6i … 10 + 6i]  task i (from 0): `_s` (JSON of its spec, stored as it is), `_k` (the
           dispatch key prefix), runAt, parent, user ("" for none; stored on their own too), and
           the JSON array of its dependencies: ids (> 0) or batch indexes as -(index + 1)

  ARGV[5 + 6n], ARGV[6 + 6n]  (optional, n = 1) a worker id and a lease length (ms): an idle
           worker of the caller's process takes the task (BaseBroker.offerSlots), which is then
           stored running for it under that lease if it is ready and nothing else is ready or
           due (dispatch order is kept); otherwise it is queued as usual.

  Returns {0, id} if dependency `id` does not exist (nothing created), else {first id, ...ids of
  the tasks that ended in error because a dependency had failed}, or {id, "claimed"} if it was
  stored running (the caller builds its record from what it sent: status running, attempt 1,
  the worker, startedAt now, leaseUntil now + lease).
  Publishes task_status (pending: all; error: failed ones; running: the claimed one) and
  new_work (unless the task was claimed).
]]
--- @include "base"

local now = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
setOrigin(ARGV[3], ARGV[4])

-- The hand-off: a lone task without dependencies, due now, for an idle worker, when nothing is
-- ready or due (dispatch order is kept). Stored running at once: one write of the hash, and
-- the indexes of a running task only.
local claimWorker, claimLease = ARGV[5 + 6 * n], ARGV[6 + 6 * n]
if claimWorker and n == 1 and ARGV[10] == '[]' and not (tonumber(ARGV[7]) and tonumber(ARGV[7]) > now)
    and redis.call('ZCARD', P .. 'ready') == 0 and #redis.call('ZRANGEBYSCORE', P .. 'delayed', '-inf', now, 'LIMIT', 0, 1) == 0 then
  local id = redis.call('INCR', P .. 'id')
  local sid = tostring(id)
  local leaseText = tostring(now + tonumber(claimLease))
  local args = { 'HSET', tkey(sid), '_s', ARGV[5], '_k', ARGV[6], 'id', sid, 'dependencies', '[]', 'attempt', '1',
    'retryCount', '0', 'createdAt', ARGV[1], '_r', '0', '_n', '1', 'status', 'running', 'worker', claimWorker,
    'startedAt', ARGV[1], 'leaseUntil', leaseText }
  if ARGV[7] ~= '' then
    args[#args + 1] = 'runAt'
    args[#args + 1] = ARGV[7]
  end
  local parent, user = ARGV[8], ARGV[9]
  if parent ~= '' then
    args[#args + 1] = 'parent'
    args[#args + 1] = parent
    redis.call('ZADD', P .. 'p:' .. parent, sid, sid)
  end
  if user ~= '' then
    args[#args + 1] = 'user'
    args[#args + 1] = user
  end
  redis.call(unpack(args))
  redis.call('ZADD', P .. 'all', sid, sid)
  redis.call('ZADD', P .. 'st:running', sid, sid)
  redis.call('ZADD', P .. 'leases', leaseText, sid)
  publishStatus('pending', { sid })
  publishStatus('running', { sid })
  return { id, 'claimed' }
end

-- Every named dependency must exist before anything is created.
local depLists = {}
for i = 0, n - 1 do
  local deps = cjson.decode(ARGV[10 + 6 * i])
  depLists[i] = deps
  for _, d in ipairs(deps) do
    if d > 0 and redis.call('EXISTS', tkey(d)) == 0 then
      return { 0, d }
    end
  end
end

local first = redis.call('INCRBY', P .. 'id', n) - n + 1
local ids = {}
local failed = {}
local newWork = false
-- Numbers given to redis.call or joined to text are printed (sprintf) each time: the id is
-- printed once per task, times and constants go as text.
local nowText = ARGV[1]
for i = 0, n - 1 do
  local id = first + i
  local sid = tostring(id)
  ids[#ids + 1] = sid
  local base = 5 + 6 * i
  local runAt, parent, user = ARGV[base + 2], ARGV[base + 3], ARGV[base + 4]
  local key = tkey(sid)
  local args = { 'HSET', key, '_s', ARGV[base], '_k', ARGV[base + 1] }
  if runAt ~= '' then
    args[#args + 1] = 'runAt'
    args[#args + 1] = runAt
  end
  if parent ~= '' then
    args[#args + 1] = 'parent'
    args[#args + 1] = parent
  end
  if user ~= '' then
    args[#args + 1] = 'user'
    args[#args + 1] = user
  end
  local resolved = {}
  local remaining = 0
  local failedDep, failedStatus = nil, nil
  for _, d in ipairs(depLists[i]) do
    local depId = d
    if d < 0 then depId = first - d - 1 end
    resolved[#resolved + 1] = depId
    -- A dependency named twice counts once.
    if redis.call('SADD', P .. 'd:' .. depId, sid) == 1 then
      -- It has a dependent now: its finish must look them up (see `_n`).
      redis.call('HDEL', tkey(depId), '_n')
      local st = redis.call('HGET', tkey(depId), 'status')
      if st ~= 'success' then remaining = remaining + 1 end
      if not failedDep and (st == 'error' or st == 'killed') then
        failedDep, failedStatus = depId, st
      end
    end
  end
  args[#args + 1] = 'id'
  args[#args + 1] = sid
  args[#args + 1] = 'dependencies'
  args[#args + 1] = '[' .. table.concat(resolved, ',') .. ']'
  args[#args + 1] = 'attempt'
  args[#args + 1] = '0'
  args[#args + 1] = 'retryCount'
  args[#args + 1] = '0'
  args[#args + 1] = 'createdAt'
  args[#args + 1] = nowText
  args[#args + 1] = '_r'
  args[#args + 1] = remaining
  -- Stored pending with the rest (setStatus would write the hash a second time).
  args[#args + 1] = 'status'
  args[#args + 1] = 'pending'
  -- No dependent yet: until a submit gives it one, its success needs no SMEMBERS.
  args[#args + 1] = '_n'
  args[#args + 1] = '1'
  redis.call(unpack(args))
  redis.call('ZADD', P .. 'all', sid, sid)
  if parent ~= '' then
    redis.call('ZADD', P .. 'p:' .. parent, sid, sid)
  end
  redis.call('ZADD', P .. 'st:pending', sid, sid)
  if failedDep then
    complete(id, 'pending', 'error', now)
    redis.call('HSET', key, 'error', failedText(failedDep, failedStatus), 'failedDependency', failedDep)
    failed[#failed + 1] = id
  elseif remaining == 0 then
    enqueueAs(id, runAt, ARGV[base + 1], now)
    newWork = true
  end
end

publishStatus('pending', ids)
publishStatus('error', failed)
if newWork then publishNewWork() end
local out = { first }
for _, id in ipairs(failed) do out[#out + 1] = id end
return out
