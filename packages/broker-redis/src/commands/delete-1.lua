--[[
  Deletes tasks, their output and their index entries.

  KEYS[1]  key prefix
  ARGV[…]  ids

  Returns how many existed.
]]
--- @include "base"

local n = 0
for i = 1, #ARGV do
  local id = ARGV[i]
  local key = tkey(id)
  local v = redis.call('HMGET', key, 'status', 'parent')
  if v[1] then
    unqueue(id)
    redis.call('ZREM', P .. 'st:' .. v[1], id)
    redis.call('ZREM', P .. 'leases', id)
    redis.call('ZREM', P .. 'all', id)
    if v[2] then redis.call('ZREM', P .. 'p:' .. v[2], id) end
    redis.call('UNLINK', key, P .. 'd:' .. id, P .. 'o:' .. id, P .. 'oo:' .. id)
    n = n + 1
  end
end
return n
