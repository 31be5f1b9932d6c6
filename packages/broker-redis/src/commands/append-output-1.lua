--[[
  Appends output chunks of a task, assigning each its seq (position among the task's chunks)
  and its byte offset in its stream. A stored chunk is one list element:
  "<stream>\n<offset>\n<time>\n" followed by the bytes (binary-safe).

  KEYS[1]  key prefix
  ARGV[1]  task id
  ARGV[2…] triples: stream, time (ms), data

  Returns {seq, offset} per chunk.
]]
--- @include "base"

local id = ARGV[1]
local list = P .. 'o:' .. id
local offsets = P .. 'oo:' .. id
local seq = redis.call('LLEN', list)
local out = {}
for i = 2, #ARGV, 3 do
  local stream, time, data = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local offset = redis.call('HINCRBY', offsets, stream, #data) - #data
  redis.call('RPUSH', list, stream .. '\n' .. offset .. '\n' .. time .. '\n' .. data)
  out[#out + 1] = { seq, offset }
  seq = seq + 1
end
return out
