-- KEYS: count hash. ARGV: (channel, n) pairs. Received messages no longer count
-- against capacity; never below zero (a restarted server starts from nothing).
for i = 1, #ARGV, 2 do
  if redis.call('HINCRBY', KEYS[1], ARGV[i], -tonumber(ARGV[i + 1])) <= 0 then
    redis.call('HDEL', KEYS[1], ARGV[i], '#' .. ARGV[i])
  end
end
return 0
