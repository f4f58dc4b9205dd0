-- The pub/sub layer's group_send to a resumable group: store in history and
-- PUBLISH the stamped message, atomically.
-- KEYS: meta, stream. ARGV: group name, epoch candidate, (unused), size, age ms,
-- payload, pub/sub channel, PUBLISH or SPUBLISH (a cluster: the channel is in
-- the group's slot). Returns the number of subscribers that got it. Stamps and
-- the age cut use the server's clock: skew between application hosts does not count.
local stamped = history_append(KEYS[1], KEYS[2], ARGV[1], ARGV[2], server_ms(),
  ARGV[4], tonumber(ARGV[5]), ARGV[6])
return redis.call(ARGV[8] or 'PUBLISH', ARGV[7], stamped)
