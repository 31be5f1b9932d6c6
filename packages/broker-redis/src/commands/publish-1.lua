--[[
  Publishes one event message on the events channel, unless nobody else would hear it: the
  caller listens on the channel itself and is its only subscriber (it delivers its own events
  to itself, and skips the copies that carry its origin).

  KEYS[1]  key prefix
  ARGV[1]  "1" if the caller listens on the channel
  ARGV[2]  the message (JSON: {"event":…,"payload":…,"o":origin})

  Returns the number of subscribers that got it (0 when not published).
]]
--- @include "base"

if ARGV[1] == '1' and redis.call('PUBSUB', 'NUMSUB', P .. 'events')[2] <= 1 then return 0 end
return redis.call('PUBLISH', P .. 'events', ARGV[2])
