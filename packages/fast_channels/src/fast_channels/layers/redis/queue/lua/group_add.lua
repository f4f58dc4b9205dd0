-- KEYS: group keys; ARGV: ttl ms, then one channel per key. Adds or re-asserts
-- each (group, channel) membership, scored by the server's clock.
local now = server_ms()
for i, gkey in ipairs(KEYS) do
  redis.call('ZADD', gkey, now, ARGV[i + 1])
  redis.call('PEXPIRE', gkey, ARGV[1])
end
return #KEYS
