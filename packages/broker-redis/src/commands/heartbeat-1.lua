--[[
  Extends the leases a worker still holds (task running or suspended with the same attempt).

  KEYS[1]  key prefix
  ARGV[1]  now (ms)
  ARGV[2]  lease length (ms)
  ARGV[3…] pairs: id, attempt

  Returns the ids whose lease is lost.
]]
--- @include "base"

local leaseUntil = tonumber(ARGV[1]) + tonumber(ARGV[2])
local lost = {}
for i = 3, #ARGV, 2 do
  local id = ARGV[i]
  local v = redis.call('HMGET', tkey(id), 'status', 'attempt')
  if (v[1] == 'running' or v[1] == 'suspended') and v[2] == ARGV[i + 1] then
    redis.call('HSET', tkey(id), 'leaseUntil', leaseUntil)
    redis.call('ZADD', P .. 'leases', leaseUntil, id)
  else
    lost[#lost + 1] = tonumber(id)
  end
end
return lost
