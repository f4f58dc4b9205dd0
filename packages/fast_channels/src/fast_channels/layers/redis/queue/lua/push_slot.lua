-- A Redis Cluster's push to the members of a group whose queues share one slot.
-- KEYS: the members' list keys and count hashes, each once, all in one slot.
-- ARGV: ttl ms, deadline, payload, then per member: channel, capacity, the
-- index in KEYS of its list and of its count hash (0: a named channel, none).
-- Returns the number skipped because full.
local now, ttl, skipped = server_ms(), ARGV[1], 0
for i = 4, #ARGV, 4 do
  local channel, count = ARGV[i], tonumber(ARGV[i + 3])
  local hkey = ''
  if count > 0 then hkey = KEYS[count] end
  local entry = ARGV[2] .. ':' .. channel .. ':' .. ARGV[3]
  local qkey = KEYS[tonumber(ARGV[i + 2])]
  if push(qkey, hkey, channel, tonumber(ARGV[i + 1]), entry, ttl, now) == 0 then
    skipped = skipped + 1
  end
end
return skipped
