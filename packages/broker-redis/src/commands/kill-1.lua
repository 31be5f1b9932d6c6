--[[
  Kills tasks that are not complete: they end in `killed` with the given error, and their
  transitive dependents that are not complete end in `error`.

  KEYS[1]  key prefix
  ARGV[1]  now (ms)
  ARGV[2]  codec text of the kill error
  ARGV[3…] ids

  Returns {{ids that were running}, {ids killed}, {ids of dependents failed}}.
  Publishes task_status killed (with the error as outcome when small) and error.
]]
--- @include "base"

local now = tonumber(ARGV[1])
local running, killed, failed = {}, {}, {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local st = redis.call('HGET', tkey(id), 'status')
  if st and not COMPLETE[st] then
    local nid = tonumber(id)
    if st == 'running' or st == 'suspended' then running[#running + 1] = nid end
    complete(id, st, 'killed', now)
    redis.call('HSET', tkey(id), 'error', ARGV[2])
    killed[#killed + 1] = nid
    propagate(id, 'killed', now, failedText(id, 'killed'), failed)
  end
end
publishStatus('killed', killed, ARGV[2])
publishStatus('error', failed)
return { running, killed, failed }
