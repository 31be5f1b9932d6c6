--[[
  Records the end of a run, fenced by attempt. Success releases the dependents whose
  dependencies have now all succeeded; error/killed (without retry) fails every transitive
  dependent that is not complete; an error with retryAt puts the task back to pending.

  KEYS[1]  key prefix
  ARGV[1]  task id
  ARGV[2]  attempt, or "" for an unfenced finish (applies if the task is not complete)
  ARGV[3]  status: success | error | killed
  ARGV[4]  codec text: the result (success) or the error
  ARGV[5]  retryAt (ms) or "" (error only)
  ARGV[6]  now (ms)
  ARGV[7], ARGV[8], ARGV[9]  failed-dependency templates and placeholder (see submit-1)

  Returns {applied (0|1), newWork (0|1), ...ids of dependents failed}.
  Publishes task_status (and new_work) for what changed.
]]
--- @include "base"

local id = ARGV[1]
local status = ARGV[3]
local now = tonumber(ARGV[6])
local key = tkey(id)
local v = redis.call('HMGET', key, 'status', 'attempt')
local st = v[1]
if not st then return { 0, 0 } end
if ARGV[2] == '' then
  if COMPLETE[st] then return { 0, 0 } end
elseif not ((st == 'running' or st == 'suspended') and v[2] == ARGV[2]) then
  return { 0, 0 }
end

local nid = tonumber(id)
if status == 'success' then
  complete(id, st, 'success', now)
  redis.call('HSET', key, 'result', ARGV[4])
  redis.call('HDEL', key, 'error')
  local newWork = 0
  for _, d in ipairs(redis.call('SMEMBERS', P .. 'd:' .. id)) do
    local dkey = tkey(d)
    local remaining = redis.call('HINCRBY', dkey, '_r', -1)
    if remaining == 0 and redis.call('HGET', dkey, 'status') == 'pending' then
      enqueue(d, now)
      newWork = 1
    end
  end
  publishStatus('success', { nid })
  if newWork == 1 then publishNewWork() end
  return { 1, newWork }
end

redis.call('HSET', key, 'error', ARGV[4])
if status == 'error' and ARGV[5] ~= '' then
  unqueue(id)
  setStatus(id, st, 'pending')
  redis.call('HINCRBY', key, 'retryCount', 1)
  redis.call('HSET', key, 'runAt', ARGV[5])
  redis.call('HDEL', key, 'leaseUntil', 'worker')
  redis.call('ZREM', P .. 'leases', id)
  enqueue(id, now)
  publishStatus('pending', { nid })
  publishNewWork()
  return { 1, 1 }
end

complete(id, st, status, now)
local failed = {}
propagate(id, status, now, failedText(id, status, ARGV[7], ARGV[8], ARGV[9]), failed)
publishStatus(status, { nid })
publishStatus('error', failed)
local out = { 1, 0 }
for _, d in ipairs(failed) do out[#out + 1] = d end
return out
