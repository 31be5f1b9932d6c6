--[[
  Re-queues error/killed tasks (and success ones when asked) under the same id: result, error
  and failure cleared, back to pending (ready, or waiting for unfinished dependencies, or failed
  again on a failed dependency). Dependents that failed because of a retried task (its id is
  their failedDependency) are reset the same way, transitively. Re-running a success makes its
  waiting dependents count it as unfinished again.

  KEYS[1]  key prefix
  ARGV[1]  now (ms)
  ARGV[2]  "1" to include success tasks
  ARGV[3…] ids

  Returns {newWork (0|1), {ids back to pending}, {ids failed again}}.
  Publishes task_status pending and error, and new_work.
]]
--- @include "base"

local now = tonumber(ARGV[1])
local includeSuccess = ARGV[2] == '1'
local pending, failed = {}, {}
local newWork = 0

-- Back to pending; returns true if it is ready at once.
local function reset(id)
  local key = tkey(id)
  local st = redis.call('HGET', key, 'status')
  setStatus(id, st, 'pending')
  redis.call('HDEL', key, 'result', 'error', 'failedDependency', 'finishedAt', 'startedAt', 'worker', 'leaseUntil', 'runAt', 'progress')
  redis.call('HSET', key, 'retryCount', 0)
  if st == 'success' then
    -- Dependents still waiting counted this one as done: it is not any more.
    for _, d in ipairs(redis.call('SMEMBERS', P .. 'd:' .. id)) do
      local dst = redis.call('HGET', tkey(d), 'status')
      if dst and not COMPLETE[dst] then
        redis.call('HINCRBY', tkey(d), '_r', 1)
        unqueue(d)
      end
    end
  end
  local remaining = 0
  local ok, deps = pcall(cjson.decode, redis.call('HGET', key, 'dependencies') or '[]')
  if not ok then deps = {} end
  local seen = {}
  for _, dep in ipairs(deps) do
    local dst = redis.call('HGET', tkey(dep), 'status')
    if dst and not seen[dep] then
      seen[dep] = true
      if dst == 'error' or dst == 'killed' then
        complete(id, 'pending', 'error', now)
        redis.call('HSET', key, 'error', failedText(dep, dst), 'failedDependency', dep)
        failed[#failed + 1] = tonumber(id)
        propagate(id, 'error', now, failedText(id, 'error'), failed)
        redis.call('HSET', key, '_r', remaining)
        return false
      end
      if dst ~= 'success' then remaining = remaining + 1 end
    end
  end
  redis.call('HSET', key, '_r', remaining)
  if remaining == 0 then enqueue(id, now) end
  return remaining == 0
end

local roots = {}
local stack = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local st = redis.call('HGET', tkey(id), 'status')
  if st == 'error' or st == 'killed' or (includeSuccess and st == 'success') then
    roots[tonumber(id)] = true
    if reset(id) then newWork = 1 end
    pending[#pending + 1] = tonumber(id)
    stack[#stack + 1] = id
  end
end
while #stack > 0 do
  local x = table.remove(stack)
  for _, d in ipairs(redis.call('SMEMBERS', P .. 'd:' .. x)) do
    local v = redis.call('HMGET', tkey(d), 'status', 'failedDependency')
    local fd = tonumber(v[2])
    if v[1] == 'error' and fd and roots[fd] then
      if reset(d) then newWork = 1 end
      pending[#pending + 1] = tonumber(d)
      stack[#stack + 1] = d
    end
  end
end
publishStatus('pending', pending)
publishStatus('error', failed)
if newWork == 1 then publishNewWork() end
return { newWork, pending, failed }
