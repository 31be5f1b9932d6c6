--[[
  Claims tasks for a worker under a lease: each must still be ready (in the ready set and
  `pending`), so two workers racing for one task never both get it.

  KEYS[1]  key prefix
  ARGV[1]  now (ms)
  ARGV[2]  lease length (ms)
  ARGV[3]  worker id
  ARGV[4]  "1" to return the hashes of the claimed tasks
  ARGV[5…] ids to claim (from peek-1)

  Returns {{id, attempt, hash or false}...} for the tasks claimed (hash only if asked).
  Publishes task_status running.
]]
--- @include "base"

local now = tonumber(ARGV[1])
local leaseUntil = now + tonumber(ARGV[2])
local worker = ARGV[3]
local withHash = ARGV[4] == '1'

local candidates = {}
for i = 5, #ARGV do
  candidates[#candidates + 1] = tonumber(ARGV[i])
end

local out = {}
local ids = {}
for _, id in ipairs(candidates) do
  local key = tkey(id)
  local v = redis.call('HMGET', key, 'status', '_k', 'attempt')
  if v[1] == 'pending' and v[2] and redis.call('ZREM', P .. 'ready', readyMember(id, v[2])) == 1 then
    local attempt = (tonumber(v[3]) or 0) + 1
    setStatus(id, 'pending', 'running')
    redis.call('HSET', key, 'attempt', attempt, 'worker', worker, 'startedAt', now, 'leaseUntil', leaseUntil)
    redis.call('HDEL', key, 'reason')
    redis.call('ZADD', P .. 'leases', leaseUntil, id)
    ids[#ids + 1] = id
    if withHash then
      out[#out + 1] = { id, attempt, redis.call('HGETALL', key) }
    else
      out[#out + 1] = { id, attempt }
    end
  end
end
publishStatus('running', ids)
return out
