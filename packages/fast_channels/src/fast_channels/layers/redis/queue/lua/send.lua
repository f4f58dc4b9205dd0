-- KEYS: list key, then the count-hash key of a process-local channel (a named
-- one has none: "" or left out, as a cluster needs every key in one slot).
-- ARGV: entry, capacity, ttl ms, channel.
return push(KEYS[1], KEYS[2] or '', ARGV[4], tonumber(ARGV[2]), ARGV[1], ARGV[3], server_ms())
