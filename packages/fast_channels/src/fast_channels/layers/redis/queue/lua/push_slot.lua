-- A Redis Cluster's push to the members of a group whose queues share one slot.
-- KEYS: per member, its list key and, for a process-local channel, its count
-- hash (every key declared, all in one slot). ARGV: ttl ms, deadline, payload,
-- then (channel, capacity, 1 if it has a count hash else 0) triples.
-- Returns the number skipped because full.
local now, ttl, skipped, k = server_ms(), ARGV[1], 0, 1
for i = 4, #ARGV, 3 do
  local channel, qkey, hkey = ARGV[i], KEYS[k], ''
  k = k + 1
  if ARGV[i + 2] == '1' then
    hkey = KEYS[k]
    k = k + 1
  end
  local entry = ARGV[2] .. ':' .. channel .. ':' .. ARGV[3]
  if push(qkey, hkey, channel, tonumber(ARGV[i + 1]), entry, ttl, now) == 0 then
    skipped = skipped + 1
  end
end
return skipped
