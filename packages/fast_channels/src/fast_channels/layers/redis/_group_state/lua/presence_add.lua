-- KEYS: presence hashes. ARGV: (unused), ttl ms, then (channel, description) per key.
-- Adds or re-asserts each presence as "<server now>:<description>"; an entry not
-- re-asserted within ttl belongs to a process that died.
local now = string.format('%d', server_ms())
for i, key in ipairs(KEYS) do
  redis.call('HSET', key, ARGV[2 * i + 1], now .. ':' .. ARGV[2 * i + 2])
  redis.call('PEXPIRE', key, ARGV[2])
end
return #KEYS
