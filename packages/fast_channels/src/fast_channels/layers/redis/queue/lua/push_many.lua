-- ARGV: prefix, ttl, deadline, payload, then (channel, capacity) pairs.
-- Returns the number skipped because full.
local now, ttl, skipped = server_ms(), ARGV[2], 0
for i = 5, #ARGV, 2 do
  local channel = ARGV[i]
  local qkey, hkey = keys_for(ARGV[1], channel)
  local entry = ARGV[3] .. ':' .. channel .. ':' .. ARGV[4]
  if push(qkey, hkey, channel, tonumber(ARGV[i + 1]), entry, ttl, now) == 0 then
    skipped = skipped + 1
  end
end
return skipped
