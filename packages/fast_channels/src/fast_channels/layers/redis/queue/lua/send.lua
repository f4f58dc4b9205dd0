-- KEYS: list key, count-hash key or "". ARGV: entry, capacity, ttl ms, channel.
return push(KEYS[1], KEYS[2], ARGV[4], tonumber(ARGV[2]), ARGV[1], ARGV[3], server_ms())
