--[[
  Claims tasks for a worker under a lease (attempt + 1, `running`). Either the first `count`
  ready tasks in dispatch order (after moving due delayed tasks into the ready set), or the
  given ids, each only if it is still ready: two workers racing for one task never both get it.

  KEYS[1]  key prefix
  ARGV[1]  now (ms)
  ARGV[2]  lease length (ms)
  ARGV[3]  worker id
  ARGV[4]  count: claim the first `count` ready tasks; 0: claim the ids that follow
  ARGV[5]  origin: the caller's instance id, put in the events (see setOrigin), or ""
  ARGV[6]  "1" if the caller listens on the events channel (see setOrigin)
  ARGV[7…] ids to claim (from peek-1, count 0)

  Returns {nextRunAt, {id, attempt, hash}...}: nextRunAt is the earliest runAt of a delayed task
  when nothing was claimed, else -1; hash is the task's hash from before the claim, its HGETALL
  fields and values joined by NUL bytes (by count only; by ids, false): one reply string per
  task is much cheaper to read than an array of them. No stored value holds a NUL (codec and
  spec texts are JSON, which escapes it; worker ids are checked).
  Publishes task_status running for the tasks claimed (a task the worker hands back at once is
  published pending again by release-1).
]]
--- @include "base"

local now = tonumber(ARGV[1])
local leaseUntil = now + tonumber(ARGV[2])
-- Numbers given to redis.call are printed (sprintf) at every call: times and ids go as text,
-- each printed once at most.
local nowText, leaseText = ARGV[1], tostring(leaseUntil)
local worker = ARGV[3]
local count = tonumber(ARGV[4])
setOrigin(ARGV[5], ARGV[6])

local out = { -1 }
local ids = {}
if count > 0 then
  local due = redis.call('ZRANGEBYSCORE', P .. 'delayed', '-inf', now, 'LIMIT', 0, 1000)
  for _, id in ipairs(due) do
    redis.call('ZREM', P .. 'delayed', id)
    local k = redis.call('HGET', tkey(id), '_k')
    redis.call('ZADD', P .. 'ready', 0, readyMember(id, k or ''))
  end
  -- Members of the ready set are pending tasks: take the top ones out in one call each for
  -- the sets, and touch each task's hash twice (read it, then mark the claim). The hash goes
  -- back as it is: the spec is one field (`_s`), and nothing is decoded or encoded here.
  local members = redis.call('ZRANGE', P .. 'ready', 0, count - 1)
  if #members > 0 then
    redis.call('ZREM', P .. 'ready', unpack(members))
    local scored, leased = {}, {}
    for _, m in ipairs(members) do
      local sid = string.match(string.sub(m, -16), '^0*(%d+)$')
      local id = tonumber(sid)
      local key = tkey(sid)
      local before = redis.call('HGETALL', key)
      local attempt, hadReason = 1, false
      for i = 1, #before, 2 do
        local f = before[i]
        if f == 'attempt' then
          attempt = (tonumber(before[i + 1]) or 0) + 1
        elseif f == 'reason' then
          hadReason = true
        end
      end
      redis.call('HSET', key, 'status', 'running', 'attempt', attempt, 'worker', worker, 'startedAt', nowText, 'leaseUntil', leaseText)
      if hadReason then redis.call('HDEL', key, 'reason') end
      ids[#ids + 1] = sid
      scored[#scored + 1] = sid
      scored[#scored + 1] = sid
      leased[#leased + 1] = leaseText
      leased[#leased + 1] = sid
      out[#out + 1] = { id, attempt, table.concat(before, '\0') }
    end
    redis.call('ZREM', P .. 'st:pending', unpack(ids))
    redis.call('ZADD', P .. 'st:running', unpack(scored))
    redis.call('ZADD', P .. 'leases', unpack(leased))
  end
else
  for i = 7, #ARGV do
    local id = tonumber(ARGV[i])
    local key = tkey(id)
    local v = redis.call('HMGET', key, 'status', '_k', 'attempt')
    if v[1] == 'pending' and v[2] and redis.call('ZREM', P .. 'ready', readyMember(id, v[2])) == 1 then
      local attempt = (tonumber(v[3]) or 0) + 1
      redis.call('HSET', key, 'status', 'running', 'attempt', attempt, 'worker', worker, 'startedAt', now, 'leaseUntil', leaseUntil)
      redis.call('ZREM', P .. 'st:pending', id)
      redis.call('ZADD', P .. 'st:running', id, id)
      redis.call('HDEL', key, 'reason')
      redis.call('ZADD', P .. 'leases', leaseUntil, id)
      ids[#ids + 1] = id
      out[#out + 1] = { id, attempt, false }
    end
  end
end
if count > 0 and #ids == 0 then
  local first = redis.call('ZRANGE', P .. 'delayed', 0, 0, 'WITHSCORES')
  if first[2] then out[1] = tonumber(first[2]) end
end
publishStatus('running', ids)
return out
