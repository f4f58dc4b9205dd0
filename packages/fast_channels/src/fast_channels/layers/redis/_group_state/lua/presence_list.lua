-- KEYS: presence hash. ARGV: timeout ms. Drops entries not asserted within timeout
-- by the server's clock (their process died) and returns {channel1, description1, ...}
-- for the others.
local rows = redis.call('HGETALL', KEYS[1])
local cutoff = server_ms() - tonumber(ARGV[1])
local out = {}
for i = 1, #rows, 2 do
  local stamp, info = string.match(rows[i + 1], '^(%d+):(.*)$')
  if stamp == nil or tonumber(stamp) < cutoff then
    redis.call('HDEL', KEYS[1], rows[i])
  else
    out[#out + 1] = rows[i]
    out[#out + 1] = info
  end
end
return out
