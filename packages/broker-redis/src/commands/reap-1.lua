--[[
  Puts running tasks whose lease ended before now back to pending (the attempt stays, so the
  old worker's late result is refused: claim increments it).

  KEYS[1]  key prefix
  ARGV[1]  now (ms)

  Returns the ids put back. Publishes task_status pending and new_work.
]]
--- @include "base"

local now = tonumber(ARGV[1])
local back = {}
local expired = redis.call('ZRANGEBYSCORE', P .. 'leases', '-inf', now, 'LIMIT', 0, 1000)
for _, id in ipairs(expired) do
  redis.call('ZREM', P .. 'leases', id)
  local key = tkey(id)
  local v = redis.call('HMGET', key, 'status', 'leaseUntil')
  local until_ = tonumber(v[2]) or 0
  if (v[1] == 'running' or v[1] == 'suspended') and until_ <= now then
    setStatus(id, v[1], 'pending')
    redis.call('HDEL', key, 'worker', 'leaseUntil')
    enqueue(id, now)
    back[#back + 1] = tonumber(id)
  end
end
publishStatus('pending', back)
if #back > 0 then publishNewWork() end
return back
