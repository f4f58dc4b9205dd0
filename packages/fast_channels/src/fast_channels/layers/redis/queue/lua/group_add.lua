-- KEYS: group keys; ARGV: now, ttl ms, then one channel per key. Adds or
-- re-asserts each (group, channel) membership.
for i, gkey in ipairs(KEYS) do
  redis.call('ZADD', gkey, ARGV[1], ARGV[i + 2])
  redis.call('PEXPIRE', gkey, ARGV[2])
end
return #KEYS
