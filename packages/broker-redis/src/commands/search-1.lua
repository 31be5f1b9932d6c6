--[[
  One page of task ids matching a filter, ascending. Walks the narrowest index (the parent's,
  one status's, or all ids) from the cursor and checks the other conditions on each task.

  KEYS[1]  key prefix
  ARGV[1]  afterId (0 for the start)
  ARGV[2]  page size (limit)
  ARGV[3]  parent id or ""
  ARGV[4]  user or "" (ARGV[5] = "1" when a user filter is given)
  ARGV[6…] statuses (none: any)

  Returns {ids (at most limit), more (0|1)}.
]]
--- @include "base"

local afterId = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local parent = ARGV[3]
local user, byUser = ARGV[4], ARGV[5] == '1'
local statuses = {}
local nStatuses = 0
for i = 6, #ARGV do
  statuses[ARGV[i]] = true
  nStatuses = nStatuses + 1
end

local index = P .. 'all'
if parent ~= '' then
  index = P .. 'p:' .. parent
elseif nStatuses == 1 then
  index = P .. 'st:' .. ARGV[6]
end

local ids = {}
local cursor = '(' .. afterId
while true do
  local batch = redis.call('ZRANGEBYSCORE', index, cursor, '+inf', 'LIMIT', 0, 500)
  if #batch == 0 then return { ids, 0 } end
  for _, id in ipairs(batch) do
    local v = redis.call('HMGET', tkey(id), 'status', 'user')
    if v[1] and (nStatuses == 0 or statuses[v[1]]) and (not byUser or v[2] == user) then
      if #ids >= limit then return { ids, 1 } end
      ids[#ids + 1] = tonumber(id)
    end
  end
  cursor = '(' .. batch[#batch]
end
