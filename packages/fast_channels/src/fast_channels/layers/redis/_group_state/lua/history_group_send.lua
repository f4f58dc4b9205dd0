-- The queue layer's group_send to a resumable group on one shard, atomically:
-- store in history, then push the stamped message to every live member.
-- KEYS: group, meta, stream. ARGV: (unused), group expiry ms, member timeout ms, prefix,
-- capacity, ttl, deadline, payload, group name, epoch candidate, size, age ms.
-- Returns {members, skipped because full}.
local now, cap, ttl = server_ms(), tonumber(ARGV[5]), ARGV[6]
local stamped = history_append(KEYS[2], KEYS[3], ARGV[9], ARGV[10], now, ARGV[11],
  tonumber(ARGV[12]), ARGV[8])
local members = live_members(KEYS[1], now, tonumber(ARGV[2]), tonumber(ARGV[3]))
local skipped = 0
for _, channel in ipairs(members) do
  local qkey, hkey = keys_for(ARGV[4], channel)
  local entry = ARGV[7] .. ':' .. channel .. ':' .. stamped
  if push(qkey, hkey, channel, cap, entry, ttl, now) == 0 then skipped = skipped + 1 end
end
return {#members, skipped}
