-- ARGV: now, prefix, ttl, deadline, payload, then (channel, capacity) pairs.
-- Returns the number skipped because full.
local now, ttl, skipped = tonumber(ARGV[1]), ARGV[3], 0
for i = 6, #ARGV, 2 do
  local channel = ARGV[i]
  local qkey, hkey = keys_for(ARGV[2], channel)
  local entry = ARGV[4] .. ':' .. channel .. ':' .. ARGV[5]
  if push(qkey, hkey, channel, tonumber(ARGV[i + 1]), entry, ttl, now) == 0 then
    skipped = skipped + 1
  end
end
return skipped
