-- KEYS: a named channel's list. ARGV: ttl ms, then entries, newest first.
-- Entries popped for receivers that gave up go back to the end BRPOP takes
-- from, in their order, so another process's receiver gets them next.
redis.call('RPUSH', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return #ARGV - 1
