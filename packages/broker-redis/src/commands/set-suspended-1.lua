--[[
  Pauses or resumes a run (a worker suspended it for more urgent work, or resumed it), fenced:
  only a task that is running or suspended with this attempt. Lease, worker and startedAt stay.

  KEYS[1]  key prefix
  ARGV[1]  task id
  ARGV[2]  attempt
  ARGV[3]  "1" to suspend, "0" to resume

  Returns 0 if the run is not held (nothing changed), 1 if it is (2 if its status changed).
  Publishes task_status suspended/running when the status changed.
]]
--- @include "base"

local id = ARGV[1]
local v = redis.call('HMGET', tkey(id), 'status', 'attempt')
if not ((v[1] == 'running' or v[1] == 'suspended') and v[2] == ARGV[2]) then return 0 end
local to = 'running'
if ARGV[3] == '1' then to = 'suspended' end
if v[1] == to then return 1 end
setStatus(id, v[1], to)
publishStatus(to, { tonumber(id) })
return 2
