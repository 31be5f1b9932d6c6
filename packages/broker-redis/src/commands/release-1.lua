--[[
  Hands back tasks a worker claimed by count but does not want (they do not fit it): each goes
  back to exactly what it was before the claim (pending, ready, previous attempt, startedAt and
  reason), as if never claimed. Only while the worker still holds that claim.

  KEYS[1]  key prefix
  ARGV[1]  now (ms)
  ARGV[2]  worker id
  ARGV[3]  origin: the caller's instance id, put in the events (see setOrigin), or ""
  ARGV[4]  "1" if the caller listens on the events channel (see setOrigin)
  ARGV[5…] groups of 5: id, attempt of the claim, startedAt before it ("" for none), reason
           before it ("" for none), reason the worker gives for refusing it ("" for none)

  Returns how many were handed back. Publishes task_status pending for them (the claim
  published them running).
]]
--- @include "base"

local now = tonumber(ARGV[1])
local worker = ARGV[2]
setOrigin(ARGV[3], ARGV[4])
local back = {}
for i = 5, #ARGV, 5 do
  local id = ARGV[i]
  local key = tkey(id)
  local v = redis.call('HMGET', key, 'status', 'attempt', 'worker')
  if v[1] == 'running' and v[2] == ARGV[i + 1] and v[3] == worker then
    setStatus(id, 'running', 'pending')
    redis.call('HSET', key, 'attempt', tonumber(v[2]) - 1)
    redis.call('HDEL', key, 'worker', 'leaseUntil', 'startedAt')
    if ARGV[i + 2] ~= '' then redis.call('HSET', key, 'startedAt', ARGV[i + 2]) end
    -- Why this worker refused it, in the same step (a separate write could land before the
    -- claim cleared the old reason, or after another worker's). Else the reason from before,
    -- unless one was stored meanwhile.
    if ARGV[i + 4] ~= '' then
      redis.call('HSET', key, 'reason', ARGV[i + 4])
    elseif ARGV[i + 3] ~= '' and redis.call('HEXISTS', key, 'reason') == 0 then
      redis.call('HSET', key, 'reason', ARGV[i + 3])
    end
    redis.call('ZREM', P .. 'leases', id)
    enqueue(id, now)
    back[#back + 1] = tonumber(id)
  end
end
publishStatus('pending', back)
return #back
