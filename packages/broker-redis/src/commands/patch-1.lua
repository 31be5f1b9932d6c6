--[[
  Sets or clears fields of an existing task (progress, usage, reason); unknown ids are ignored.

  KEYS[1]  key prefix
  ARGV[1]  task id
  ARGV[2…] triples: field, "1" to set or "0" to clear, value

  Returns 1 if the task exists, else 0.
]]
--- @include "base"

local key = tkey(ARGV[1])
if redis.call('EXISTS', key) == 0 then return 0 end
for i = 2, #ARGV, 3 do
  if ARGV[i + 1] == '1' then
    redis.call('HSET', key, ARGV[i], ARGV[i + 2])
  else
    redis.call('HDEL', key, ARGV[i])
  end
end
return 1
