-- KEYS: presence hashes. ARGV: now ms, ttl ms, then (channel, description) per key.
-- Adds or re-asserts each presence as "<now>:<description>"; an entry not
-- re-asserted within ttl belongs to a process that died.
for i, key in ipairs(KEYS) do
  redis.call('HSET', key, ARGV[2 * i + 1], ARGV[1] .. ':' .. ARGV[2 * i + 2])
  redis.call('PEXPIRE', key, ARGV[2])
end
return #KEYS
