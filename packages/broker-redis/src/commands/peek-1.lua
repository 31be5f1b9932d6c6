--[[
  Moves delayed tasks whose runAt has come into the ready set, then returns the top ready
  candidates in dispatch order without claiming them (the worker decides which fit, then
  claims those with claim-1). Costs O(log n + count): nothing waiting is scanned.

  KEYS[1]  key prefix
  ARGV[1]  now (ms)
  ARGV[2]  offset of the first candidate in dispatch order
  ARGV[3]  number of candidates
  ARGV[4]  "1" to return the candidates' hashes (HGETALL), "0" for ids only

  Returns {nextRunAt or -1 (earliest runAt of a delayed task, only when no candidate), {id, hash}...}
]]
--- @include "base"

local now = tonumber(ARGV[1])
local offset = tonumber(ARGV[2])
local count = tonumber(ARGV[3])
local withHash = ARGV[4] == '1'

local due = redis.call('ZRANGEBYSCORE', P .. 'delayed', '-inf', now, 'LIMIT', 0, 1000)
for _, id in ipairs(due) do
  redis.call('ZREM', P .. 'delayed', id)
  local k = redis.call('HGET', tkey(id), '_k')
  redis.call('ZADD', P .. 'ready', 0, readyMember(id, k or ''))
end

local members = redis.call('ZRANGE', P .. 'ready', offset, offset + count - 1)
local out = { -1 }
for _, m in ipairs(members) do
  local id = tonumber(string.sub(m, -16))
  if withHash then
    out[#out + 1] = { id, redis.call('HGETALL', tkey(id)) }
  else
    out[#out + 1] = { id }
  end
end
if #members == 0 then
  local first = redis.call('ZRANGE', P .. 'delayed', 0, 0, 'WITHSCORES')
  if first[2] then out[1] = tonumber(first[2]) end
end
return out
