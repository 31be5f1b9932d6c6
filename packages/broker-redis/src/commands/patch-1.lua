--[[
  Sets or clears fields of an existing task (progress, usage, reason); unknown ids are ignored.
  `reason` only while the task is pending.

  KEYS[1]  key prefix
  ARGV[1]  task id
  ARGV[2…] triples: field, "1" to set or "0" to clear, value

  Returns 1 if the task exists, else 0.
]]
--- @include "base"

local key = tkey(ARGV[1])
local status = redis.call('HGET', key, 'status')
if not status then return 0 end
for i = 2, #ARGV, 3 do
  -- A reason says why a task waits: it is not stored on one that runs or ran already (a late
  -- one must not stick to it).
  if ARGV[i] ~= 'reason' or status == 'pending' then
    if ARGV[i + 1] == '1' then
      redis.call('HSET', key, ARGV[i], ARGV[i + 2])
    else
      redis.call('HDEL', key, ARGV[i])
    end
  end
end
return 1
